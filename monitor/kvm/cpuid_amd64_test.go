package kvm

import (
	"slices"
	"sync"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
)

// KVM is asked for its supported CPUID once per process, however many
// ask at once, and every caller gets a copy of its own: what one caller
// changes (as FilterCPUID's callers may) the next never sees. (KVM's own
// answer differs from CPU to CPU in the APIC ID fields, which
// x86_64.FilterCPUID sets to vCPU 0's; the leaves are the same.)
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
	type leaf struct{ function, index uint32 }
	leaves := func(e []CPUIDEntry) []leaf {
		var l []leaf
		for _, x := range e {
			l = append(l, leaf{x.Function, x.Index})
		}
		return l
	}
	for i, e := range got {
		if !slices.Equal(e, got[0]) {
			t.Fatalf("caller %d got other entries than caller 0", i)
		}
	}
	if !slices.Equal(leaves(got[0]), leaves(direct)) {
		t.Fatalf("%d leaves, KVM answers %d", len(got[0]), len(direct))
	}
	want := slices.Clone(got[1])
	got[0][0].EAX ^= 0xffffffff
	again, err := sys.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, want) {
		t.Error("a caller's change to its entries reached the next caller")
	}
}
