//go:build amd64

package monitor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/netnstest"

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

// blockBenchSize is the block size of the block benchmarks: the largest
// a device can have (the manifest's block_size is a uint16, so 32 KiB is
// the largest power of two; devices.BlockOptions' SectorSize likewise).
// blockBenchIO is the size of one read or write: 64 KiB, which a guest
// moves as the ABI lets it, in two BLOCK_READs (BLOCK_WRITEs) of one
// block each (unimon, like Solo5's bindings, takes one block per call),
// and the host in one pread (pwrite).
const (
	blockBenchSize = 32 << 10
	blockBenchIO   = 64 << 10
)

// BenchmarkBlockThroughput: a guest's 64 KiB reads (then writes), as two
// BLOCK_READs (BLOCK_WRITEs) of a 32 KiB block, against the host's pread
// (pwrite) of 64 KiB of the same file, alternating in one run.
func BenchmarkBlockThroughput(b *testing.B) {
	kvmtest.Require(b)
	const loops = 2000 // 64 KiB reads (writes) per run
	path := filepath.Join(b.TempDir(), "disk")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	disk, err := devices.OpenBlockFile(path, devices.BlockOptions{SectorSize: blockBenchSize})
	if err != nil {
		b.Fatal(err)
	}
	defer disk.Close()
	host, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer host.Close()
	buf := make([]byte, blockBenchIO)
	guest := func(image []byte) time.Duration {
		return timeGuest(b, monitor.Config{KernelImage: image, Memory: 8 << 20,
			Block: map[string]devices.Block{microguest.BlockDeviceName: disk}})
	}
	onHost := func(io func([]byte, int64) (int, error)) time.Duration {
		start := time.Now()
		for range loops {
			if _, err := io(buf, 0); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	calls := uint32(loops * blockBenchIO / blockBenchSize)
	read, write := microguest.BlockReadLoop(calls, blockBenchSize), microguest.BlockWriteLoop(calls, blockBenchSize)
	var gRead, hRead, gWrite, hWrite time.Duration
	b.ResetTimer()
	for range b.N {
		hRead += onHost(host.ReadAt)
		gRead += guest(read)
		hWrite += onHost(host.WriteAt)
		gWrite += guest(write)
	}
	mbps := func(d time.Duration) float64 { return float64(b.N*loops*blockBenchIO) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(gRead), "guest-read-MB/s")
	b.ReportMetric(mbps(hRead), "host-pread-MB/s")
	b.ReportMetric(mbps(gRead)/mbps(hRead), "read-x-host")
	b.ReportMetric(mbps(gWrite), "guest-write-MB/s")
	b.ReportMetric(mbps(hWrite), "host-pwrite-MB/s")
	b.ReportMetric(mbps(gWrite)/mbps(hWrite), "write-x-host")
}

// BenchmarkNetFrames: a guest sending 60-byte frames to a tap (NET_WRITE),
// in frames per second, against the host writing the same frame to the
// same tap, alternating in one run. The tap lives in a private network
// namespace, where the frames end.
func BenchmarkNetFrames(b *testing.B) {
	kvmtest.Require(b)
	const loops = 5000
	ns := netnstest.New(b)
	ns.AddTap("tap0", "", 0)
	var tap *devices.Tap
	if err := ns.Do(func() (err error) {
		tap, err = devices.OpenTap("tap0", devices.MAC{})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer tap.Close()
	image := microguest.NetWriteLoop(loops)
	var tGuest, tHost time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for range loops {
			if err := tap.WriteFrame(microguest.NetEchoFrame[:]); err != nil {
				b.Fatal(err)
			}
		}
		tHost += time.Since(start)
		tGuest += timeGuest(b, monitor.Config{KernelImage: image, Memory: 8 << 20,
			Net: map[string]devices.Net{microguest.NetDeviceName: tap}})
	}
	fps := func(d time.Duration) float64 { return float64(b.N*loops) / d.Seconds() }
	b.ReportMetric(fps(tGuest), "guest-frames/s")
	b.ReportMetric(fps(tHost), "host-frames/s")
	b.ReportMetric(fps(tGuest)/fps(tHost), "x-host")
}
