package monitor_test

// The arm64-only end-to-end tests: hypercalls are MMIO stores, so a bad
// access has MMIO shapes x86_64 does not; PSCI exists; and the monitor
// builds the boot state (page tables, stack, FP/SIMD, counter frequency)
// in ways only an aarch64 guest can check. This file also puts the
// package in the ARM64 lane, which runs every package with an
// *_arm64_test.go file.

import (
	"context"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
	hostarm64 "github.com/unimon/unimon/monitor/arm64"
)

// pcName is how the monitor's guest-fault errors name the program counter.
const pcName = "pc"

// archGuestFaults are the aarch64 ways for a guest to end its VM.
func archGuestFaults() []guestFault {
	return []guestFault{
		{"unknown MMIO address", microguest.A64BadMMIO(), []string{"mmio=0x100000048", "not a hypercall address", "pc=0x10"}},
		{"MMIO read of a hypercall address", microguest.A64MMIORead(), []string{"read from mmio=0x100000008", "WALLTIME"}},
		{"MMIO store KVM cannot decode", microguest.A64MMIONoSyndrome(), []string{"gpa=0x100000040", "cannot decode"}},
		{"PSCI SYSTEM_OFF", microguest.A64PSCI(microguest.PSCISystemOff), []string{"PSCI SYSTEM_OFF"}},
		{"PSCI SYSTEM_RESET", microguest.A64PSCI(microguest.PSCISystemReset), []string{"PSCI SYSTEM_RESET"}},
	}
}

func TestBootInfo(t *testing.T) {
	kvmtest.Require(t)
	const mem = 16 << 20
	r := boot(t, context.Background(), microguest.A64BootInfo(), monitor.Config{Memory: mem, Args: []string{"x"}})
	if r.err != nil || r.status != 0 || len(r.out) != guestabi.BootInfoSize {
		t.Fatalf("status %d, err %v, output %d bytes", r.status, r.err, len(r.out))
	}
	var bi guestabi.BootInfo
	bi.Decode(r.out)
	freq, err := hostarm64.HostCounterFrequency()
	if err != nil {
		t.Fatal(err)
	}
	if bi.MemSize != mem || bi.CPUCycleFreq != freq || bi.Manifest != guestabi.ManifestAddr ||
		bi.Cmdline <= bi.Manifest || bi.KernelEnd <= guestabi.GuestMinBase || bi.NetRing != 0 {
		t.Errorf("boot info %+v (host CNTFRQ_EL0 %d)", bi, freq)
	}
	t.Logf("cpu_cycle_freq = CNTFRQ_EL0 = %d Hz", bi.CPUCycleFreq)
}

// The entry stack is the top of guest memory, mapped by the last 2 MiB
// block; the smallest and the largest memory sizes cover both ends of the
// page tables (4 KiB pages only, and every PMD page plus the fourth PUD
// entry). The 4 GiB mapping costs little: only touched pages are backed.
func TestStackAtTopOfMemory(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, mem := range []uint64{2 << 20, 1<<30 + 2<<20, 4 << 30} {
		r := boot(t, context.Background(), microguest.A64StackTop(), monitor.Config{Memory: mem})
		if r.err != nil || r.status != 0 {
			t.Errorf("memory %d MiB: status %d, err %v", mem>>20, r.status, r.err)
		}
	}
}

func TestFPUEnabled(t *testing.T) {
	kvmtest.Require(t)
	r := boot(t, context.Background(), microguest.A64FPU(), monitor.Config{})
	if r.err != nil || r.status != 0 {
		t.Fatalf("status %d, err %v", r.status, r.err)
	}
}

// TestGICv3: a unikernel that asks for an irqchip gets KVM's in-kernel
// GICv3 at the addresses guestabi gives (the guest reads its distributor's
// architecture revision, 3, and exits with it); one that does not ask
// gets upstream's machine, without.
func TestGICv3(t *testing.T) {
	kvmtest.Require(t)
	for _, tt := range []struct {
		name  string
		guest []byte
		want  int
	}{
		{"requested", microguest.A64GICProbe(), 3},
		{"not requested", microguest.A64GICProbeNoRequest(), microguest.A64GICProbeNoGIC},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := boot(t, context.Background(), tt.guest, monitor.Config{Memory: 16 << 20})
			if r.err != nil || r.status != tt.want {
				t.Fatalf("status %d, err %v; want %d", r.status, r.err, tt.want)
			}
		})
	}
}
