//go:build amd64

package monitor_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmfloor"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// Timings on shared machines are only meaningful as ratios to a floor
// measured in the same run: kvmfloor, a monitor that does nothing but
// run the guest. Whole-process boots and peak RSS are measured in
// tests/goguests (BenchmarkBootProcess), next to the Go hello unikernel.

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
		tRaw += timeIt(func() error { _, err := kvmfloor.Run(bytes.NewReader(raw), kvmfloor.Options{}); return err })
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
