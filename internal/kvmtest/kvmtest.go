// Package kvmtest gates tests that need /dev/kvm and counts the ones that
// ran, so `make test` can report how many KVM tests really exercised KVM.
package kvmtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
)

// CountFileEnv names a file to which every test that passed Require
// appends one line; the Makefile sets it and counts the lines.
const CountFileEnv = "UNIMON_KVM_COUNT_FILE"

var countMu sync.Mutex

// Require skips t when the machine has no /dev/kvm at all, and fails it
// when /dev/kvm exists but cannot be opened: a machine with KVM must never
// skip KVM tests silently.
func Require(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Skip("no /dev/kvm on this machine: KVM test not run")
	case err != nil:
		t.Fatalf("/dev/kvm exists but cannot be opened: %v", err)
	}
	f.Close()
	if path := os.Getenv(CountFileEnv); path != "" {
		countMu.Lock()
		defer countMu.Unlock()
		cf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatalf("kvmtest: %v", err)
		}
		fmt.Fprintln(cf, t.Name())
		cf.Close()
	}
}
