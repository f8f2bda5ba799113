package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
)

type vmResult struct {
	results []laneproto.Result
	summary laneproto.Summary
}

// qemuArgs are the checked flags from docs/environment.md: virtualization=on
// gives the guest EL2 and so /dev/kvm; gic-version=3 is what KVM's vGIC
// wants; pauth-impdef=on avoids the emulated QARMA pointer authentication
// that triples boot time; -nic none avoids a missing-ROM error.
func qemuArgs(kernel, initrd string) []string {
	return []string{
		"-machine", "virt,virtualization=on,gic-version=3",
		"-cpu", "max,pauth-impdef=on",
		"-smp", "2", "-m", "1024",
		"-nographic", "-no-reboot", "-nic", "none",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyAMA0 panic=-1 quiet",
	}
}

// runQEMU boots the VM with the initramfs, copies every console line to
// logPath and hands it to onLine, and returns when qemu has exited (or
// was killed on ctx); tail holds the last console lines, for errors.
func runQEMU(ctx context.Context, qemu, kernel, initrd, logPath string, onLine func(string)) (tail []string, err error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()

	cmd := exec.CommandContext(ctx, qemu, qemuArgs(kernel, initrd)...)
	cmd.Stdin = nil // /dev/null: qemu must not take over a terminal
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting qemu: %v", errCannotRun, err)
	}
	waitErr := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waitErr <- err
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintln(logf, line)
		tail = append(tail, line)
		if len(tail) > 40 {
			tail = tail[1:]
		}
		onLine(line)
	}
	// Keep draining so qemu never blocks on a full pipe.
	io.Copy(io.Discard, pr)
	return tail, <-waitErr
}

// boot runs the VM and collects the protocol lines. Test output of a
// binary is held until its RESULT line, and printed only if it failed
// (or always with -v).
func (l *lane) boot(ctx context.Context, qemu, kernel, initrd, logPath string) (*vmResult, error) {
	ctx, cancel := context.WithTimeout(ctx, l.vmTimeout)
	defer cancel()
	res := &vmResult{}
	var (
		sawInit, sawSummary bool
		vmErrs              []string
		held                []string // console lines of the running binary
	)
	bootStart := time.Now()
	tail, werr := runQEMU(ctx, qemu, kernel, initrd, logPath, func(line string) {
		if l.verbose {
			fmt.Println("arm64| " + line)
		}
		kind, f, ok := laneproto.Parse(line)
		if !ok {
			held = append(held, line)
			return
		}
		switch kind {
		case laneproto.KindInit:
			sawInit = true
			fmt.Fprintf(os.Stderr, "arm64lane: kernel booted to /init in %.1fs\n", time.Since(bootStart).Seconds())
		case laneproto.KindBegin:
			held = held[:0]
		case laneproto.KindResult:
			r, err := laneproto.ParseResult(f)
			if err != nil {
				vmErrs = append(vmErrs, err.Error())
				return
			}
			res.results = append(res.results, r)
			if !r.OK() && !l.verbose {
				fmt.Printf("---- arm64 output of %s ----\n%s\n---- end of %s ----\n", r.Bin, strings.Join(held, "\n"), r.Bin)
			}
			held = held[:0]
		case laneproto.KindSummary:
			s, err := laneproto.ParseSummary(f)
			if err != nil {
				vmErrs = append(vmErrs, err.Error())
				return
			}
			res.summary, sawSummary = s, true
		case laneproto.KindError:
			vmErrs = append(vmErrs, strings.ReplaceAll(f["msg"], "_", " "))
		}
	})
	if err := l.vmOutcome(ctx, werr, tail, sawInit, vmErrs); err != nil {
		return nil, err
	}
	if !sawSummary {
		return nil, fmt.Errorf("the arm64 VM stopped before printing its summary (a test binary crashed the VM?); last console lines:\n%s", strings.Join(tail, "\n"))
	}
	return res, nil
}

// vmOutcome turns how qemu ended into the lane's error, if any.
func (l *lane) vmOutcome(ctx context.Context, werr error, tail []string, sawInit bool, vmErrs []string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the arm64 VM did not finish within %v (killed); last console lines:\n%s", l.vmTimeout, strings.Join(tail, "\n"))
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %w", ctx.Err())
	case werr != nil:
		return fmt.Errorf("%w: qemu failed: %v; last console lines:\n%s", errCannotRun, werr, strings.Join(tail, "\n"))
	case !sawInit:
		return fmt.Errorf("%w: the arm64 kernel never started the lane's /init; last console lines:\n%s", errCannotRun, strings.Join(tail, "\n"))
	case len(vmErrs) > 0:
		return fmt.Errorf("%w: inside the arm64 VM: %s", errCannotRun, strings.Join(vmErrs, "; "))
	}
	return nil
}
