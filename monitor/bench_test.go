//go:build amd64

package monitor_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmfloor"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// Timings on shared machines are only meaningful as ratios to a floor
// measured in the same run: kvmfloor, a monitor that does nothing but
// run the guest.

// BenchmarkHelloProcess: `unimon hello.hvt` from process start to exit,
// against the kvmfloor binary on the same guest, and both peak RSS.
func BenchmarkHelloProcess(b *testing.B) {
	kvmtest.Require(b)
	dir := b.TempDir()
	unimon, floor, hello := filepath.Join(dir, "unimon"), filepath.Join(dir, "kvmfloor"), filepath.Join(dir, "hello.hvt")
	for bin, pkg := range map[string]string{unimon: "../cmd/unimon", floor: "../internal/kvmfloor/cmd/kvmfloor"} {
		// Static, as the Makefile builds it: no libc mapped in.
		build := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	if err := os.WriteFile(hello, microguest.Hello(), 0o644); err != nil {
		b.Fatal(err)
	}
	var tUnimon, tFloor time.Duration
	run := func(args ...string) time.Duration {
		start := time.Now()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", args[0], err, out)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	for range b.N {
		tFloor += run(floor, hello)
		tUnimon += run(unimon, "--mem=32", hello)
	}
	b.ReportMetric(float64(tUnimon.Microseconds())/float64(b.N), "unimon-µs/run")
	b.ReportMetric(float64(tFloor.Microseconds())/float64(b.N), "floor-µs/run")
	b.ReportMetric(float64(tUnimon)/float64(tFloor), "x-floor")

	// Peak RSS: rusage's ru_maxrss would count the parent's pages shared
	// before exec, so read the process's own high-water mark while a
	// guest waits in POLL.
	poll := filepath.Join(dir, "poll.hvt")
	if err := os.WriteFile(poll, microguest.PollTimeout(uint64(300*time.Millisecond)), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(unimon, "--mem=32", poll)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	hwm := vmHWM(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(hwm), "unimon-peak-RSS-KiB")
}

// vmHWM is a process's peak resident set in KiB, from /proc.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// BenchmarkHypercall: one hypercall round trip through the monitor
// against one bare port-I/O exit handled by kvmfloor, in the same run.
func BenchmarkHypercall(b *testing.B) {
	kvmtest.Require(b)
	const loops = 5000
	raw := microguest.RawExitLoop(loops)
	puts := microguest.PutsLoop(loops)
	walltime := microguest.WalltimeLoop(loops)
	var tRaw, tPuts, tWall time.Duration
	timeIt := func(f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	viaMonitor := func(image []byte) func() error {
		return func() error {
			vm, err := monitor.New(monitor.Config{KernelImage: image, Memory: 8 << 20})
			if err != nil {
				return err
			}
			defer vm.Close()
			_, err = vm.Run(context.Background())
			return err
		}
	}
	b.ResetTimer()
	for range b.N {
		tRaw += timeIt(func() error { _, err := kvmfloor.Run(raw, io.Discard); return err })
		tPuts += timeIt(viaMonitor(puts))
		tWall += timeIt(viaMonitor(walltime))
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*loops) }
	b.ReportMetric(per(tRaw), "raw-exit-ns")
	b.ReportMetric(per(tPuts), "puts-ns")
	b.ReportMetric(per(tWall), "walltime-ns")
	b.ReportMetric(per(tPuts)/per(tRaw), "puts-x-raw")
	b.ReportMetric(per(tWall)/per(tRaw), "walltime-x-raw")
}
