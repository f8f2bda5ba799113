// Command init is the /init of the ARM64 lane's initramfs. It runs inside
// qemu-system-aarch64 as PID 1: it mounts the pseudo file systems, runs
// every test binary in /tests with laneproto.TestFlag, prints one laneproto RESULT line
// per binary and a SUMMARY line on the serial console, and powers off.
//
// It is built with GOARCH=arm64 CGO_ENABLED=0 by the lane; it is not
// meant to run anywhere else.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/internal/kvmtest"
	"golang.org/x/sys/unix"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "arm64lane init: refusing to run: not PID 1 (this is the lane VM's /init)")
		os.Exit(2)
	}
	fmt.Println(laneproto.Line(laneproto.KindInit))
	if err := run(); err != nil {
		fmt.Println(laneproto.Line(laneproto.KindError, "msg", strings.ReplaceAll(err.Error(), " ", "_")))
	}
	powerOff()
}

func run() error {
	if err := mountAll(); err != nil {
		return err
	}
	var cfg laneproto.Config
	raw, err := os.ReadFile(laneproto.ConfigPath)
	if err != nil {
		return fmt.Errorf("reading lane config: %w", err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("decoding lane config: %w", err)
	}
	// Without /dev/kvm every KVM test would skip and the lane would
	// prove nothing, so that is a lane failure, not a pass.
	kvm, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("no usable /dev/kvm in the arm64 VM (is qemu run with virtualization=on?): %w", err)
	}
	kvm.Close()

	if len(cfg.Exec) > 0 {
		return runExec(cfg.Exec)
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		fmt.Printf("arm64lane: kernel %s, page size %d\n", unix.ByteSliceToString(uts.Release[:]), os.Getpagesize())
	}
	entries, err := os.ReadDir(laneproto.TestsDir)
	if err != nil {
		return fmt.Errorf("listing test binaries: %w", err)
	}
	var bins []string
	for _, e := range entries {
		bins = append(bins, e.Name())
	}
	sort.Strings(bins)
	var sum laneproto.Summary
	for _, b := range bins {
		r := runBinary(filepath.Join(laneproto.TestsDir, b), cfg)
		fmt.Println(r.Line())
		sum.Binaries++
		sum.KVM += r.KVM
		if !r.OK() {
			sum.Failed++
		}
	}
	fmt.Println(sum.Line())
	return nil
}

func mountAll() error {
	for _, m := range []struct{ src, dir, fstype string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", m.dir, err)
		}
		// EBUSY: the kernel may already have mounted devtmpfs itself.
		if err := unix.Mount(m.src, m.dir, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// runBinary runs one test binary, copying its output to the console while
// a laneproto.TestLog keeps the binary's own account of its tests; with
// the exit status, that is the result (a test cut short by a crash fails).
func runBinary(path string, cfg laneproto.Config) laneproto.Result {
	name := filepath.Base(path)
	r := laneproto.Result{Bin: name, Exit: -1}
	fmt.Println(laneproto.Line(laneproto.KindBegin, "bin", name))
	countFile := filepath.Join("/tmp", name+".kvmcount")
	args := []string{laneproto.TestFlag}
	if cfg.Timeout > 0 {
		args = append(args, "-test.timeout="+cfg.Timeout.String())
	}
	if cfg.Run != "" {
		args = append(args, "-test.run="+cfg.Run)
	}
	if cfg.Count > 1 {
		args = append(args, "-test.count="+strconv.Itoa(cfg.Count))
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = "/tmp"
	cmd.Env = []string{"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp", kvmtest.CountFileEnv + "=" + countFile,
		laneproto.CLIEnv + "=" + laneproto.CLIPath, laneproto.GoGuestsEnv + "=" + laneproto.GoGuestsDir}
	pr, pw, err := os.Pipe()
	if err != nil {
		fmt.Printf("arm64lane: %s: %v\n", name, err)
		return r
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		fmt.Printf("arm64lane: starting %s: %v\n", name, err)
		return r
	}
	var log laneproto.TestLog
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fmt.Println(log.Line(sc.Text()))
	}
	// Drain whatever a too-long line left behind so the child never blocks.
	io.Copy(os.Stdout, pr)
	pr.Close()
	err = cmd.Wait()
	r.Duration = time.Since(start)
	var ee *exec.ExitError
	exit := -1
	switch {
	case err == nil:
		exit = 0
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	default:
		fmt.Printf("arm64lane: %s: %v\n", name, err)
	}
	log.Result(&r, exit)
	if b, err := os.ReadFile(countFile); err == nil {
		r.KVM = bytes.Count(b, []byte("\n"))
	}
	return r
}

// runExec runs the unimon command (scripts/arm64-run) with its output on
// the console and reports its exit status.
func runExec(args []string) error {
	cmd := exec.Command(laneproto.CLIPath, args...)
	cmd.Dir = "/tmp"
	cmd.Env = []string{"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stdout
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
	default:
		return fmt.Errorf("running unimon: %w", err)
	}
	// A console line of the unikernel's may lack its newline: the empty
	// line ends it, and the host drops it.
	fmt.Println()
	fmt.Println(laneproto.Line(laneproto.KindExit, "status", strconv.Itoa(cmd.ProcessState.ExitCode())))
	return nil
}

// powerOff ends the VM; qemu runs with -no-reboot and the kernel with
// panic=-1, so even the fallback of exiting PID 1 stops qemu.
func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Printf("arm64lane: power off: %v\n", err)
	}
	os.Exit(1)
}
