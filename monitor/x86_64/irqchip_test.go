//go:build amd64

package x86_64

import (
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/monitor/kvm"
)

// The interrupt controller is the least one with a local APIC: the split
// irqchip wherever KVM offers it, and once created it leaves no room for
// a full one (KVM refuses KVM_CREATE_IRQCHIP on top of it).
func TestCreateIRQChip(t *testing.T) {
	kvmtest.Require(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	vm, err := sys.CreateVM()
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	split, _ := vm.CheckExtension(kvm.CapSplitIRQChip)
	full, _ := vm.CheckExtension(kvm.CapIRQChip)
	want := IRQChipNone
	switch {
	case split > 0:
		want = IRQChipSplit
	case full > 0:
		want = IRQChipFull
	}
	kind, err := CreateIRQChip(vm)
	if err != nil || kind != want {
		t.Fatalf("CreateIRQChip = %q, %v; want %q (split offered: %d, full: %d)", kind, err, want, split, full)
	}
	if kind != IRQChipNone && vm.CreateIRQChip() == nil {
		t.Errorf("KVM_CREATE_IRQCHIP after a %s irqchip succeeded: the first one was not created", kind)
	}
	cpu, err := vm.CreateVCPU(0)
	if err != nil {
		t.Fatalf("vCPU after a %s irqchip: %v", kind, err)
	}
	cpu.Close()
}

// BenchmarkIRQChip: creating and destroying a VM with one vCPU and the
// split irqchip, as a ratio to the same with the full irqchip, measured
// alternately in one run.
func BenchmarkIRQChip(b *testing.B) {
	kvmtest.Require(b)
	sys, err := kvm.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Close()
	if n, _ := sys.CheckExtension(kvm.CapSplitIRQChip); n <= 0 {
		b.Skip("KVM offers no split irqchip here")
	}
	lifecycle := func(split bool) time.Duration {
		start := time.Now()
		vm, err := sys.CreateVM()
		if err != nil {
			b.Fatal(err)
		}
		if split {
			err = vm.CreateSplitIRQChip()
		} else {
			err = vm.CreateIRQChip()
		}
		if err != nil {
			b.Fatal(err)
		}
		cpu, err := vm.CreateVCPU(0)
		if err != nil {
			b.Fatal(err)
		}
		cpu.Close()
		vm.Close()
		return time.Since(start)
	}
	var tSplit, tFull time.Duration
	for range b.N {
		tFull += lifecycle(false)
		tSplit += lifecycle(true)
	}
	b.ReportMetric(float64(tSplit.Microseconds())/float64(b.N), "split-µs")
	b.ReportMetric(float64(tFull.Microseconds())/float64(b.N), "full-µs")
	b.ReportMetric(float64(tSplit)/float64(tFull), "split/full")
}
