// Package leaktest checks that a test leaves no file descriptors or
// goroutines behind (a VM, a tap, a child process, a pipe).
package leaktest

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Check counts the process's open file descriptors and goroutines now
// and fails t at its cleanup if there are more then. Goroutines that end
// as their work does get a second to go.
func Check(t testing.TB) {
	t.Helper()
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	fds, gs := count(), runtime.NumGoroutine()
	t.Cleanup(func() {
		if got := count(); got != fds {
			t.Errorf("file descriptors: %d before, %d after", fds, got)
		}
		for i := 0; i < 100 && runtime.NumGoroutine() > gs; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if got := runtime.NumGoroutine(); got > gs {
			t.Errorf("goroutines: %d before, %d after", gs, got)
		}
	})
}
