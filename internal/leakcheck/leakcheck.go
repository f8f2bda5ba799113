// Package leakcheck fails a test that leaves file descriptors or
// goroutines behind: the end-to-end tests of VMs, devices and debuggers
// open many of both.
package leakcheck

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Check records the process's open file descriptors and goroutines now
// and fails t at cleanup if there are more then. Goroutines of finished
// work get three seconds to unwind (everything is slow in the ARM64
// lane's emulation).
func Check(t testing.TB) {
	t.Helper()
	fds, gs := FDs(t), runtime.NumGoroutine()
	t.Cleanup(func() {
		if got := FDs(t); got != fds {
			t.Errorf("file descriptors: %d before, %d after", fds, got)
		}
		for i := 0; i < 300 && runtime.NumGoroutine() > gs; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if got := runtime.NumGoroutine(); got > gs {
			t.Errorf("goroutines: %d before, %d after", gs, got)
		}
	})
}

// FDs is the number of file descriptors the process has open now.
func FDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
