package monitor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/monitor"
)

// TestNewKeepsOnlyVMFDs checks what a VM holds open between New and
// Close: its VM and vCPU fds, but neither /dev/kvm nor the unikernel
// file, which only setting up needs (a locked-down process keeps no fd
// it does not need).
func TestNewKeepsOnlyVMFDs(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	kernel := filepath.Join(t.TempDir(), "hello.hvt")
	if err := os.WriteFile(kernel, guests.Hello(), 0o644); err != nil {
		t.Fatal(err)
	}
	vm, err := monitor.New(monitor.Config{Kernel: kernel, Memory: smallMem})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	count := map[string]int{}
	for _, target := range selfFDs(t) {
		count[target]++
	}
	for target, want := range map[string]int{
		"/dev/kvm":              0,
		kernel:                  0,
		"anon_inode:kvm-vm":     1,
		"anon_inode:kvm-vcpu:0": 1,
	} {
		if count[target] != want {
			t.Errorf("%d fds on %s after New, want %d", count[target], target, want)
		}
	}
}

// selfFDs returns the targets of this process's open fds.
func selfFDs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && !strings.HasPrefix(target, "/proc/") {
			targets = append(targets, target)
		}
	}
	return targets
}
