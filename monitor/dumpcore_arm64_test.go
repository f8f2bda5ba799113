//go:build !unimon_nodebug

package monitor_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
)

// coreLayout: elf_prstatus of 392 bytes with pc at user_pt_regs[32]; KVM
// reports an MMIO exit with pc at the store, `str w0, [x1]`.
var coreLayout = archCore{size: 392, pc: 112 + 32*8, halt: []byte{0x20, 0x00, 0x00, 0xb9}}

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
