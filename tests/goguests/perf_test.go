//go:build linux && amd64

package goguests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// The boot benchmarks of issue 12. Timings on shared machines mean
// something only as ratios to a floor measured in the same run, so each
// compares unimon with kvmfloor (the least a KVM monitor can do, granting
// the same irqchip and CPUID) on the same image, alternating run by run.

// goHello builds examples/hello, the Go hello unikernel `make run` boots.
func goHello(t testing.TB) string {
	t.Helper()
	return image(t, "hello.hvt")
}

// buildCommands builds unimon as the Makefile does (static, trimmed) and
// the kvmfloor command, into a temporary directory.
func buildCommands(b *testing.B) (unimon, floor string) {
	b.Helper()
	dir := b.TempDir()
	unimon, floor = filepath.Join(dir, "unimon"), filepath.Join(dir, "kvmfloor")
	for bin, pkg := range map[string]string{unimon: "./cmd/unimon", floor: "./internal/kvmfloor/cmd/kvmfloor"} {
		// unimon as make builds bin/unimon: the lean build (Makefile's
		// LEAN_TAGS), which the floor's tags do not change.
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-tags", "unimon_nodebug", "-o", bin, pkg)
		build.Dir = "../.."
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return unimon, floor
}

// median of v (v is reordered).
func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkBootProcess: a process booting a unikernel to its exit, unimon
// against kvmfloor on the same image, for the Go hello unikernel and the
// hello micro-guest (the median of per-round ratios, so that load drifting
// during the run cancels out), and the peak RSS (VmHWM) of each. With
// UPSTREAM_HVT naming a solo5-hvt binary, both are also timed against
// upstream's tender in the same rounds.
func BenchmarkBootProcess(b *testing.B) {
	kvmtest.Require(b)
	unimon, floor := buildCommands(b)
	micro := filepath.Join(b.TempDir(), "micro.hvt")
	if err := os.WriteFile(micro, microguest.Hello(), 0o644); err != nil {
		b.Fatal(err)
	}
	guests := []struct {
		name, kernel, mem string
	}{{"go", goHello(b), "--mem=64"}, {"micro", micro, "--mem=32"}}
	run := func(args ...string) time.Duration {
		start := time.Now()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", args[0], err, out)
		}
		return time.Since(start)
	}
	// Upstream's tender, where the machine has one: Debian does not
	// package Solo5, so it is given by path (make bench UPSTREAM_HVT=...).
	upstream := os.Getenv("UPSTREAM_HVT")
	ratios := make([][]float64, len(guests))
	// Against upstream: unimon's time, and the floor's, over upstream's.
	xUpstream, floorXUpstream := make([][]float64, len(guests)), make([][]float64, len(guests))
	tUnimon := make([]time.Duration, len(guests))
	b.ResetTimer()
	tenders := []string{floor, unimon}
	if upstream != "" {
		tenders = append(tenders, upstream)
	}
	for round := range b.N {
		for i, g := range guests {
			// Each round starts with the next tender: whichever runs first
			// after the other guest's boots meets colder caches, so a fixed
			// order would favour the ones that follow (measured: the
			// micro-guest's ratio 1.10-1.17 with the floor always first,
			// 1.28 interleaved either way).
			took := map[string]time.Duration{}
			for k := range tenders {
				t := tenders[(round+k)%len(tenders)]
				took[t] = run(t, g.mem, g.kernel)
			}
			f, u := took[floor], took[unimon]
			tUnimon[i] += u
			ratios[i] = append(ratios[i], float64(u)/float64(f))
			if upstream != "" {
				up := took[upstream]
				xUpstream[i] = append(xUpstream[i], float64(u)/float64(up))
				floorXUpstream[i] = append(floorXUpstream[i], float64(f)/float64(up))
			}
		}
	}
	b.StopTimer()
	for i, g := range guests {
		b.ReportMetric(float64(tUnimon[i].Microseconds())/float64(b.N)/1000, g.name+"-ms/boot")
		b.ReportMetric(median(ratios[i]), g.name+"-x-floor")
		if upstream != "" {
			b.ReportMetric(median(xUpstream[i]), g.name+"-x-upstream")
			b.ReportMetric(median(floorXUpstream[i]), g.name+"-floor-x-upstream")
		}
	}
	for _, g := range guests {
		b.ReportMetric(float64(peakRSS(b, unimon, g.mem, g.kernel)), g.name+"-peak-RSS-KiB")
		b.ReportMetric(float64(peakRSS(b, floor, g.mem, g.kernel)), g.name+"-floor-peak-RSS-KiB")
	}
}

// peakRSS runs args as a process and returns its peak resident set
// (VmHWM, KiB) as the process exits. rusage's ru_maxrss would count the
// parent's pages (Go starts children with vfork semantics and the exec
// accounts the old address space), so the child is traced and read at
// its PTRACE_EVENT_EXIT stop, when its memory is still there.
func peakRSS(b *testing.B, args ...string) int64 {
	b.Helper()
	runtime.LockOSThread() // every ptrace request from the tracing thread
	defer runtime.UnlockOSThread()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Release()
	pid := cmd.Process.Pid
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil { // stopped at exec
		b.Fatal(err)
	}
	if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACEEXIT); err != nil {
		b.Fatal(err)
	}
	hwm := int64(-1)
	sig := 0
	for {
		if err := syscall.PtraceCont(pid, sig); err != nil {
			b.Fatal(err)
		}
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			b.Fatal(err)
		}
		switch {
		case ws.Exited(), ws.Signaled():
			if !ws.Exited() || ws.ExitStatus() != 0 {
				b.Fatalf("%s: %v", args[0], ws)
			}
			return hwm
		case ws.Stopped() && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT:
			hwm, sig = statusKiB(pid, "VmHWM:"), 0
		case ws.Stopped():
			sig = int(ws.StopSignal()) // a signal for the child: deliver it
		}
	}
}

// statusKiB reads a "Name:   N kB" line of /proc/pid/status (pid 0: self).
func statusKiB(pid int, name string) int64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// BenchmarkInProcessBoots: VM after VM through the library in one
// process, as an embedder boots them: each unikernel opened once
// (monitor.OpenUnikernel), then New, Run, Close per boot. Boots per
// second for the hello micro-guest and the Go hello unikernel, and the
// micro-guest's last tenth of boots against its first (flat is 1).
func BenchmarkInProcessBoots(b *testing.B) {
	kvmtest.Require(b)
	micro, err := monitor.NewUnikernel(microguest.Hello())
	if err != nil {
		b.Fatal(err)
	}
	defer micro.Close()
	hello, err := monitor.OpenUnikernel(goHello(b))
	if err != nil {
		b.Fatal(err)
	}
	defer hello.Close()
	boot := func(u *monitor.Unikernel, mem uint64) time.Duration {
		start := time.Now()
		vm, err := monitor.New(monitor.Config{Unikernel: u, Memory: mem})
		if err != nil {
			b.Fatal(err)
		}
		status, err := vm.Run(context.Background())
		vm.Close()
		if err != nil || status != 0 {
			b.Fatalf("status %d, err %v", status, err)
		}
		return time.Since(start)
	}
	const microBoots = 100
	runs := min(b.N, benchRuns)
	var tMicro, tGo time.Duration
	var first, last time.Duration
	b.ResetTimer()
	for range runs {
		for i := range microBoots {
			d := boot(micro, 8<<20)
			tMicro += d
			switch {
			case i < microBoots/10:
				first += d
			case i >= microBoots-microBoots/10:
				last += d
			}
		}
		tGo += boot(hello, 64<<20)
	}
	b.StopTimer()
	b.ReportMetric(float64(runs*microBoots)/tMicro.Seconds(), "micro-boots/s")
	b.ReportMetric(float64(runs)/tGo.Seconds(), "go-boots/s")
	b.ReportMetric(float64(last)/float64(first), "micro-last/first")
}
