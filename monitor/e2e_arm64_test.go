package monitor_test

// The arm64-only end-to-end tests: hypercalls are MMIO stores, so a bad
// access has MMIO shapes x86_64 does not; PSCI exists; and the monitor
// builds the boot state (page tables, stack, FP/SIMD, counter frequency)
// in ways only an aarch64 guest can check. This file also puts the
// package in the ARM64 lane, which runs every package with an
// *_arm64_test.go file.

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
	hostarm64 "github.com/unimon/unimon/monitor/arm64"
)

// pcName is how the monitor's guest-fault errors name the program counter.
const pcName = "pc"

// coreLayout: elf_prstatus of 392 bytes with pc at user_pt_regs[32]; KVM
// reports an MMIO exit with pc at the store, `str w0, [x1]`.
var coreLayout = archCore{size: 392, pc: 112 + 32*8, halt: []byte{0x20, 0x00, 0x00, 0xb9}}

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

// TestDumpCoreFPSIMD: an arm64 core also holds the FP/SIMD registers
// (NT_FPREGSET, struct user_fpsimd_state): the guest left the boot info
// address in d0, the low half of v0, before it aborted.
func TestDumpCoreFPSIMD(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	r, e := runForCore(t, microguest.A64FPUAbort())
	if r.err != nil || r.status != 255 {
		t.Fatalf("status %d, err %v", r.status, r.err)
	}
	fp := coreNotes(t, e.Progs[0])[elf.NT_FPREGSET]
	if len(fp) != 528 || binary.LittleEndian.Uint64(fp) != guestabi.BootInfoAddr || binary.LittleEndian.Uint64(fp[8:]) != 0 {
		t.Fatalf("NT_FPREGSET of %d bytes, v0 % x; want 528 bytes, v0 = %#x", len(fp), fp[:min(16, len(fp))], guestabi.BootInfoAddr)
	}
}

// TestDumpCoreMMUOff: a guest that turned its MMU off has no tables to
// walk; its core holds guest-physical memory at VA = PA, with the text
// where the ELF loaded it.
func TestDumpCoreMMUOff(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	image := microguest.A64MMUOffAbort()
	r, e := runForCore(t, image)
	if r.err != nil || r.status != 255 {
		t.Fatalf("status %d, err %v", r.status, r.err)
	}
	if len(e.Progs) != 2 || e.Progs[1].Vaddr != 0 || e.Progs[1].Filesz < smallMem-1 {
		t.Fatalf("core segments %d, first at %#x of %#x bytes; want physical memory at 0", len(e.Progs)-1, e.Progs[1].Vaddr, e.Progs[1].Filesz)
	}
	text, want := textSegment(t, image)
	got, err := coreRead(e, text.Paddr, text.Filesz)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("core at the text's physical address %#x: %v; bytes equal: %v", text.Paddr, err, bytes.Equal(got, want))
	}
}
