package monitor_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/monitor"
)

// One process boots 1,000 VMs in a row (issue 12) and is left as it was:
// after the first hundred, which let the Go runtime and the allocator
// settle, the open file descriptors, OS threads and goroutines are the
// same at the end, and the resident set has not grown by more than a few
// guests' worth. Counts, not times: BenchmarkInProcessBoots measures the
// time per boot.
func TestThousandSequentialBoots(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	u, err := monitor.NewUnikernel(guests.Hello())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	boot := func() {
		vm, err := monitor.New(monitor.Config{Unikernel: u, Memory: smallMem})
		if err != nil {
			t.Fatal(err)
		}
		status, err := vm.Run(context.Background())
		if err := vm.Close(); err != nil {
			t.Fatal(err)
		}
		if err != nil || status != 0 {
			t.Fatalf("status %d, err %v", status, err)
		}
	}
	type counts struct{ fds, threads, goroutines, rssKiB int }
	measure := func() counts {
		runtime.GC()
		debug.FreeOSMemory()
		return counts{leakcheck.FDs(t), procStatus(t, "Threads:"), runtime.NumGoroutine(), procStatus(t, "VmRSS:")}
	}
	const warmup, total = 100, 1000
	for range warmup {
		boot()
	}
	before := measure()
	for range total - warmup {
		boot()
	}
	after := measure()
	// The Go runtime may start an OS thread or two more under load (to
	// run goroutines while others sit in system calls); a leak would add
	// one per boot.
	const threadSlack = 4
	if after.fds != before.fds || after.threads > before.threads+threadSlack || after.goroutines > before.goroutines {
		t.Errorf("after %d boots: %+v; after %d: %+v", warmup, before, total, after)
	}
	// A leak of a guest's memory, its kvm_run page or a VM's Go state would
	// add at least ~4 KiB per boot, 3.6 MiB over 900 boots; the allocator
	// and the GC's pacing move the resident set by up to ~1 MiB on their own
	// (seen under a loaded CI machine), so the bound sits between the two.
	const slackKiB = 2048
	if !raceEnabled && after.rssKiB > before.rssKiB+slackKiB {
		t.Errorf("resident set grew from %d KiB (after %d boots) to %d KiB (after %d)", before.rssKiB, warmup, after.rssKiB, total)
	}
}

// procStatus reads a numeric field of /proc/self/status ("Threads:",
// "VmRSS:" in KiB).
func procStatus(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s %q: %v", name, v, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", name)
	return 0
}
