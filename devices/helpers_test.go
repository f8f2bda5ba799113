package devices

import (
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	// Opening any file makes the runtime create its netpoller's fds,
	// which then live for the whole process; do that before any test
	// counts descriptors.
	if f, err := os.Open("/dev/null"); err == nil {
		f.Close()
	}
	os.Exit(m.Run())
}

// openFDs lists the process's open descriptors with their targets.
func openFDs(t testing.TB) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("listing fds: %v", err)
	}
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds[e.Name()] = target
	}
	return fds
}

// checkNoFDLeak fails t if, once all of t's later cleanups have run,
// more descriptors are open than when it was called. Call it first so
// its cleanup runs last.
func checkNoFDLeak(t testing.TB) {
	t.Helper()
	before := openFDs(t)
	t.Cleanup(func() {
		after := openFDs(t)
		if len(after) <= len(before) {
			return
		}
		var extra []string
		for fd, target := range after {
			if _, ok := before[fd]; !ok {
				extra = append(extra, fd+" -> "+target)
			}
		}
		t.Errorf("fd leak: %d open before, %d after; new: %s", len(before), len(after), strings.Join(extra, ", "))
	})
}
