package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
)

// execArgs maps a unimon command line on the host ([OPTIONS] KERNEL
// [ARGS...]) to the same command inside the VM: the unikernel and every
// block device image become files under laneproto.FilesDir (host paths
// relative to dir), everything else is passed as given. files maps the
// archive names to the host paths.
func execArgs(args []string, dir string) (vmArgs []string, files map[string]string, err error) {
	files = map[string]string{}
	file := func(host, name string) string {
		if !filepath.IsAbs(host) {
			host = filepath.Join(dir, host)
		}
		vm := laneproto.FilesDir + "/" + name
		files[vm] = host
		return vm
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			vmArgs = append(vmArgs, a)
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if name, path, ok := strings.Cut(a, "="); ok && (name == "--block" || strings.HasPrefix(name, "--block:")) && path != "" {
			a = name + "=" + file(path, "block"+strconv.Itoa(len(files)))
		}
		vmArgs = append(vmArgs, a)
	}
	if i >= len(args) {
		return nil, nil, fmt.Errorf("usage: scripts/arm64-run [UNIMON OPTIONS] KERNEL [ARGS...]: no KERNEL given")
	}
	vmArgs = append(vmArgs, file(args[i], "kernel.hvt"))
	vmArgs = append(vmArgs, args[i+1:]...)
	for _, host := range files {
		if _, err := os.Stat(host); err != nil {
			return nil, nil, err
		}
	}
	return vmArgs, files, nil
}

// execMain is scripts/arm64-run: it boots the lane's VM with the
// cross-built unimon and the given unikernel, prints the unikernel's
// console as it comes and returns unimon's exit status inside the VM.
func (l *lane) execMain(ctx context.Context, args []string, dir string) (int, error) {
	l.start = time.Now()
	vmArgs, files, err := execArgs(args, dir)
	if err != nil {
		return 0, err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return 0, err
	}
	cache, err := cacheDir()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return 0, fmt.Errorf("%w: creating cache directory: %v", errCannotRun, err)
	}
	qemu, err := ensureQEMU(ctx)
	if err != nil {
		return 0, err
	}
	kernel, err := ensureKernel(ctx, cache)
	if err != nil {
		return 0, err
	}
	work, err := os.MkdirTemp("", "unimon-arm64run-")
	if err != nil {
		return 0, fmt.Errorf("creating work directory: %w", err)
	}
	defer os.RemoveAll(work)
	initBin, cli, err := buildInitAndCLI(ctx, root, work)
	if err != nil {
		return 0, err
	}
	cfg, err := json.Marshal(laneproto.Config{Exec: vmArgs})
	if err != nil {
		return 0, err
	}
	initrd := filepath.Join(work, "initrd.cpio")
	if err := buildInitramfs(initrd, initBin, cli, cfg, nil, files); err != nil {
		return 0, err
	}
	l.step("arm64 VM ready to boot", l.start)

	ctx, cancel := context.WithTimeout(ctx, l.vmTimeout)
	defer cancel()
	var (
		sawInit, sawExit bool
		status, blanks   int
		vmErrs           []string
	)
	tail, werr := runQEMU(ctx, qemu, kernel, initrd, filepath.Join(work, "console.log"), func(line string) {
		kind, f, ok := laneproto.Parse(line)
		switch {
		case !ok && line == "":
			blanks++
		case !ok:
			// Kernel messages before /init are not the unikernel's.
			if sawInit && !sawExit {
				fmt.Print(strings.Repeat("\n", blanks))
				fmt.Println(line)
			}
			blanks = 0
		case kind == laneproto.KindInit:
			sawInit = true
		case kind == laneproto.KindExit:
			// The last blank line is /init's, ending a last line the
			// unikernel may have left open.
			fmt.Print(strings.Repeat("\n", max(blanks-1, 0)))
			n, err := strconv.Atoi(f["status"])
			if err != nil {
				vmErrs = append(vmErrs, "bad EXIT line: "+line)
			}
			status, sawExit = n, true
		case kind == laneproto.KindError:
			vmErrs = append(vmErrs, strings.ReplaceAll(f["msg"], "_", " "))
		}
	})
	if err := l.vmOutcome(ctx, werr, tail, sawInit, vmErrs); err != nil {
		return 0, err
	}
	if !sawExit {
		return 0, fmt.Errorf("the arm64 VM stopped before unimon's exit status came; last console lines:\n%s", strings.Join(tail, "\n"))
	}
	return status, nil
}
