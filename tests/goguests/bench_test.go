//go:build linux && amd64

package goguests

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// benchRuns bounds the guest boots a benchmark makes whatever b.N is (the
// Makefile asks for 2000 iterations, sized for micro-guests).
const benchRuns = 20

func bootOnce(b *testing.B, cfg monitor.Config) (time.Duration, string) {
	b.Helper()
	var console bytes.Buffer
	cfg.Console = &console
	start := time.Now()
	vm, err := monitor.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	status, err := vm.Run(context.Background())
	d := time.Since(start)
	vm.Close()
	if err != nil || status != 0 {
		b.Fatalf("status %d, err %v\n%s", status, err, console.String())
	}
	return d, console.String()
}

// stat returns the number after name= in the --unimon:stats line.
func stat(b *testing.B, console, name string) float64 { return match(b, console, name+`=(\d+)`) }

// match returns the number the first group of re captures in console.
func match(b *testing.B, console, re string) float64 {
	b.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(console)
	if m == nil {
		b.Fatalf("no %s in:\n%s", re, console)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// BenchmarkGoHello: boot-to-exit of the Go hello unikernel as a ratio to
// the hello micro-guest in the same run, and the guest pages it touches.
func BenchmarkGoHello(b *testing.B) {
	kvmtest.Require(b)
	g := guest(b)
	var tGo, tMicro time.Duration
	var console string
	runs := min(b.N, benchRuns)
	b.ResetTimer()
	for range runs {
		d, _ := bootOnce(b, monitor.Config{KernelImage: microguest.Hello(), Memory: 32 << 20})
		tMicro += d
		d, console = bootOnce(b, monitor.Config{Kernel: g, Memory: 128 << 20, Args: []string{"--unimon:stats", "hello"}})
		tGo += d
	}
	b.StopTimer()
	b.ReportMetric(float64(tGo.Microseconds())/float64(runs)/1000, "go-ms/boot")
	b.ReportMetric(float64(tMicro.Microseconds())/float64(runs)/1000, "micro-ms/boot")
	b.ReportMetric(float64(tGo)/float64(tMicro), "go/micro")
	b.ReportMetric(stat(b, console, "pages_touched"), "pages-touched")
	b.ReportMetric(stat(b, console, "traps"), "traps/boot")
}

// BenchmarkGoConcurrency: traps per second while the concurrency program
// runs (1,000 goroutines, timers, a 50 ms sleep).
func BenchmarkGoConcurrency(b *testing.B) {
	kvmtest.Require(b)
	g := guest(b)
	var traps, us float64
	runs := min(b.N, benchRuns/4)
	b.ResetTimer()
	for range runs {
		_, console := bootOnce(b, monitor.Config{Kernel: g, Memory: 128 << 20, Args: []string{"--unimon:stats", "concurrency"}})
		traps += stat(b, console, "traps")
		us += stat(b, console, "uptime_us")
	}
	b.ReportMetric(traps/(us/1e6), "traps/s")
}

// BenchmarkGoSyscall: one emulated system call (getpid) as the program
// sees it, and time.Now through the vDSO for comparison.
func BenchmarkGoSyscall(b *testing.B) {
	kvmtest.Require(b)
	g := guest(b)
	b.ResetTimer()
	_, c1 := bootOnce(b, monitor.Config{Kernel: g, Memory: 128 << 20, Args: []string{"syscalls", "20000"}})
	_, c2 := bootOnce(b, monitor.Config{Kernel: g, Memory: 128 << 20, Args: []string{"clock", "1000000"}})
	b.StopTimer()
	b.ReportMetric(match(b, c1, `syscalls: (\d+) ns/op`)/1000, "syscall-us")
	b.ReportMetric(match(b, c2, `clock: (\d+) ns/op`), "clock-ns")
}
