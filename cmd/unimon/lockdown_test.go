package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/sandboxtest"
)

// TestCLILocksDown checks, on every architecture the sandbox supports
// (tests/sandbox goes much further on amd64; this is what the ARM64 lane
// runs), that a running CLI has the seccomp filter and no_new_privs on
// every thread and no capabilities, and that SIGTERM still ends it with
// its one line.
func TestCLILocksDown(t *testing.T) {
	kvmtest.Require(t)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	p := startCLI(t, cli(t), devNull, "--mem=8", writeGuest(t, guests.Spin()))
	var threads []string
	// A wait, not a timed assertion: the lock-down happens right before
	// the guest runs, and this only bounds a hang.
	for deadline := time.Now().Add(time.Minute); threads == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		threads = sandboxtest.LockedThreads(p.proc.Pid)
	}
	if threads == nil {
		t.Errorf("the CLI's threads never all showed a seccomp filter")
	}
	wants := []string{"NoNewPrivs:\t1"}
	if os.Getenv(laneproto.CLIEnv) != "" {
		// The lane's CLI is built without cgo, as the Makefile builds it;
		// cli's go build here links cgo, where only the locking thread
		// can drop its capabilities (see sandbox.LockDown).
		wants = append(wants, "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000")
	}
	for _, st := range threads {
		for _, want := range wants {
			if !strings.Contains(st, want) {
				t.Errorf("a thread lacks %q:\n%s", want, st)
			}
		}
	}
	p.proc.Signal(syscall.SIGTERM)
	ws, errOut := p.wait(t)
	if !ws.Exited() || ws.ExitStatus() != 1 || errOut != "unimon: exiting on signal 15 (SIGTERM)\n" {
		t.Errorf("%v, stderr %q; want exit status 1 and the signal's line", describe(ws), errOut)
	}
}
