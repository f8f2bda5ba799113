package hostile

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// usage is what a process holds that a leak would grow.
type usage struct {
	fds, threads, goroutines int
	rssKiB                   int
}

func measure(t *testing.T) usage {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	u := usage{fds: len(fds), threads: len(tasks), goroutines: runtime.NumGoroutine()}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			u.rssKiB, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return u
}

// noGrowth fails t if the process holds more fds or goroutines than at
// before, more threads than before plus what the Go runtime may keep
// idle (one per VM thread it locked, at most GOMAXPROCS+slack), or an RSS
// grown by more than rssSlackKiB. Goroutines and fds are given a moment
// to wind down, since Close returns before a helper goroutine's defer.
func noGrowth(t *testing.T, before usage, threadSlack, rssSlackKiB int) usage {
	t.Helper()
	var now usage
	for i := 0; i < 100; i++ {
		runtime.GC()
		now = measure(t)
		if now.fds <= before.fds && now.goroutines <= before.goroutines {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now.fds > before.fds {
		t.Errorf("fds grew from %d to %d", before.fds, now.fds)
	}
	if now.goroutines > before.goroutines {
		t.Errorf("goroutines grew from %d to %d", before.goroutines, now.goroutines)
	}
	if now.threads > before.threads+threadSlack {
		t.Errorf("threads grew from %d to %d (slack %d)", before.threads, now.threads, threadSlack)
	}
	if now.rssKiB > before.rssKiB+rssSlackKiB {
		t.Errorf("RSS grew from %d KiB to %d KiB (slack %d KiB)", before.rssKiB, now.rssKiB, rssSlackKiB)
	}
	t.Logf("before: %+v; after: %+v", before, now)
	return now
}
