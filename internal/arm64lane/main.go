// Command arm64lane runs unimon's arm64 KVM tests for real on an x86_64
// machine: it boots an arm64 Linux kernel under qemu-system-aarch64 with
// an emulated EL2 (virtualization=on), so /dev/kvm exists inside, and runs
// the cross-compiled test binaries of every package that has an
// *_arm64_test.go file there.
//
// Usage (from the repository root):
//
//	go run ./internal/arm64lane [-v] [-run REGEXP] [-timeout D]
//	go run ./internal/arm64lane -exec [-dir DIR] [--] [UNIMON OPTIONS] KERNEL [ARGS...]
//
// The second form (scripts/arm64-run) runs one unikernel under the
// cross-built unimon in the VM and exits with its status (125 when the
// lane itself failed).
//
// It installs what it needs with apt-get (qemu-system-arm, the arm64
// foreign architecture, the current Debian arm64 kernel package), caches
// the kernel outside the repository ($UNIMON_ARM64_CACHE, else
// $XDG_CACHE_HOME/unimon-arm64 or ~/.cache/unimon-arm64), prints how many
// arm64 KVM tests ran, and exits non-zero when any test fails or when the
// lane cannot run at all. Setting UNIMON_SKIP_ARM64=1 skips the lane
// deliberately, with a loud message and exit status 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
)

// errCannotRun marks failures of the machine rather than of the tests:
// no apt, no package mirror, no qemu. They fail the lane all the same,
// but the message says what to fix or how to skip.
var errCannotRun = errors.New("the ARM64 lane cannot run on this machine")

func main() {
	verbose := flag.Bool("v", false, "print the arm64 VM's console (all test output) while it runs")
	run := flag.String("run", "", "pass -test.run=`REGEXP` to every arm64 test binary")
	count := flag.Int("count", 1, "pass -test.count=`N` to every arm64 test binary (repeat a flaky test)")
	timeout := flag.Duration("timeout", 6*time.Minute, "kill the arm64 VM after this long")
	testTimeout := flag.Duration("test.timeout", 4*time.Minute, "pass -test.timeout to every arm64 test binary")
	keep := flag.Bool("keep", false, "keep the work directory (initramfs, binaries, console log)")
	execRun := flag.Bool("exec", false, "run `unimon ARGS...` (the arguments after the flags) in the arm64 VM instead of the tests, and exit with its status (scripts/arm64-run)")
	dir := flag.String("dir", ".", "with -exec: the directory relative paths in ARGS are relative to")
	flag.Parse()

	if *execRun {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		l := &lane{vmTimeout: *timeout}
		status, err := l.execMain(ctx, flag.Args(), *dir)
		stop()
		if err != nil {
			fmt.Fprintf(os.Stderr, "arm64-run: %v\n", err)
			os.Exit(125)
		}
		os.Exit(status)
	}

	if os.Getenv("UNIMON_SKIP_ARM64") == "1" {
		banner("ARM64 LANE SKIPPED: UNIMON_SKIP_ARM64=1 is set, so no arm64 KVM test ran.")
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l := &lane{verbose: *verbose, cfg: laneproto.Config{Run: *run, Count: *count, Timeout: *testTimeout}, vmTimeout: *timeout, keep: *keep}
	err := l.main(ctx)
	switch {
	case errors.Is(err, errCannotRun):
		banner(fmt.Sprintf("ARM64 LANE COULD NOT RUN: %v\nNo arm64 KVM test ran. Fix the machine, or set UNIMON_SKIP_ARM64=1 to skip the lane deliberately.", err))
		os.Exit(1)
	case err != nil:
		fmt.Fprintf(os.Stderr, "arm64lane: FAIL: %v\n", err)
		os.Exit(1)
	}
}

func banner(msg string) {
	line := strings.Repeat("!", 78)
	fmt.Fprintf(os.Stderr, "%s\n%s\n%s\n", line, msg, line)
}

type lane struct {
	verbose   bool
	keep      bool
	cfg       laneproto.Config
	vmTimeout time.Duration
	start     time.Time
}

// step prints how long each phase took, so the lane's wall time can be
// watched against its 3-minute budget.
func (l *lane) step(name string, since time.Time) {
	fmt.Fprintf(os.Stderr, "arm64lane: %-28s %6.1fs (total %.1fs)\n", name, time.Since(since).Seconds(), time.Since(l.start).Seconds())
}

func (l *lane) main(ctx context.Context) error {
	l.start = time.Now()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("%w: creating cache directory: %v", errCannotRun, err)
	}

	t := time.Now()
	qemu, err := ensureQEMU(ctx)
	if err != nil {
		return err
	}
	kernel, err := ensureKernel(ctx, cache)
	if err != nil {
		return err
	}
	l.step("qemu and kernel ready", t)

	work, err := os.MkdirTemp("", "unimon-arm64lane-")
	if err != nil {
		return fmt.Errorf("creating work directory: %w", err)
	}
	if l.keep {
		fmt.Fprintf(os.Stderr, "arm64lane: keeping work directory %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}

	t = time.Now()
	pkgs, err := arm64TestPackages(ctx, root)
	if err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return errors.New("no package has an *_arm64_test.go file: nothing to run")
	}
	initBin, cli, tests, err := build(ctx, root, work, pkgs)
	if err != nil {
		return err
	}
	guests, err := buildGoGuests(ctx, root, work)
	if err != nil {
		return err
	}
	l.step(fmt.Sprintf("built %d test binaries, %d Go guests", len(tests), len(guests)), t)

	t = time.Now()
	cfg, err := json.Marshal(l.cfg)
	if err != nil {
		return err
	}
	initrd := filepath.Join(work, "initrd.cpio")
	if err := buildInitramfs(initrd, initBin, cli, cfg, tests, guests); err != nil {
		return err
	}
	l.step("initramfs written", t)

	t = time.Now()
	res, err := l.boot(ctx, qemu, kernel, initrd, filepath.Join(work, "console.log"))
	l.step("arm64 VM ran the tests", t)
	if err != nil {
		if !l.keep {
			// The console log is the evidence; keep it where it can be read.
			saved := filepath.Join(cache, "last-console.log")
			if cerr := copyFile(filepath.Join(work, "console.log"), saved); cerr == nil {
				fmt.Fprintf(os.Stderr, "arm64lane: console log saved to %s\n", saved)
			}
		}
		return err
	}
	return l.report(res, len(tests))
}

func (l *lane) report(res *vmResult, want int) error {
	var failed []string
	for _, r := range res.results {
		verdict := "PASS"
		if !r.OK() {
			verdict = "FAIL"
			failed = append(failed, r.Bin)
		}
		crashed := ""
		if len(r.Crashed) > 0 {
			crashed = fmt.Sprintf(" (cut short by the binary's crash or timeout: %s)", strings.Join(r.Crashed, ", "))
		}
		fmt.Printf("arm64 %s %s: %d passed, %d failed%s, %d skipped, %d KVM tests, exit %d (%.1fs)\n",
			verdict, r.Bin, r.Passed, r.Failed, crashed, r.Skipped, r.KVM, r.Exit, r.Duration.Seconds())
	}
	fmt.Printf("ARM64 lane: %d arm64 KVM tests ran (%d binaries) in %.1fs\n", res.summary.KVM, res.summary.Binaries, time.Since(l.start).Seconds())
	switch {
	case len(res.results) != want || res.summary.Binaries != want:
		return fmt.Errorf("the VM reported %d results (summary %d) for %d test binaries", len(res.results), res.summary.Binaries, want)
	case len(failed) > 0 || res.summary.Failed > 0:
		return fmt.Errorf("arm64 test binaries failed: %s", strings.Join(failed, ", "))
	case res.summary.KVM == 0:
		return errors.New("no arm64 KVM test ran (every kvmtest.Require call skipped or none was made)")
	}
	return nil
}

func cacheDir() (string, error) {
	if d := os.Getenv("UNIMON_ARM64_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: no cache directory (set UNIMON_ARM64_CACHE): %v", errCannotRun, err)
	}
	return filepath.Join(d, "unimon-arm64"), nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
