package kvm

import (
	"slices"
	"sync"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
)

// KVM is asked for its supported CPUID once per process, however many
// ask at once, and every caller gets a copy of its own: what one caller
// changes (as FilterCPUID's callers may) the next never sees.
func TestSupportedCPUIDOnce(t *testing.T) {
	kvmtest.Require(t)
	sys, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	direct, err := sys.askSupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	const callers = 4
	got := make([][]CPUIDEntry, callers)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			e, err := sys.SupportedCPUID()
			if err != nil {
				t.Error(err)
			}
			got[i] = e
		})
	}
	wg.Wait()
	for i, e := range got {
		if !slices.Equal(e, direct) {
			t.Fatalf("caller %d: %d entries unlike KVM's own %d", i, len(e), len(direct))
		}
	}
	got[0][0].EAX ^= 0xffffffff
	again, err := sys.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, direct) {
		t.Error("a caller's change to its entries reached the next caller")
	}
}
