//go:build linux && arm64

package bindings

import "unsafe"

// The fixed layout of the bindings' private memory on arm64, below the
// ELF image (0x20000-0xFFFFF is RAM the hvt ABI leaves unused). The
// assembly (cpu_arm64.s) repeats the few addresses it needs; a change
// here must be made there too (TestLayoutARM64, arm64layout_test.go, checks).
const (
	l0Base      = 0x20000 // TTBR0_EL1
	l1Base      = 0x21000 // the identity map's 1 GiB entries
	l2Base      = 0x22000 // four pages: 2 MiB entries for 4 GiB
	l3TextBase  = 0x30000 // 4 KiB entries for [0, 2 MiB-aligned end of text), 16 pages at most
	l3TextMax   = 16
	guardPage   = 0x4f000 // unmapped: a kernel stack overflow faults
	kstackLo    = 0x50000
	kstackTop   = 0x90000
	frameAddr   = kstackTop - frameSize // where EL1 saves the program's registers
	fakeG       = kstackTop
	vdsoData    = 0x91000
	vdsoImage   = 0x92000 // the vDSO's ELF (vdso.go); its one function is in the text
	vdsoMax     = 0x1000
	fpAreaAddr  = 0x93000
	el1StackTop = 0x95000 // SP_EL1: what the EL1 code pushes at entry
	tickCount   = 0x94000 // the timer's reload value, which EL1 reads at every tick
	pageSize    = 4096
	frameSize   = unsafe.Sizeof(frame{})

	scratchTLS = 0 // TPIDR_EL0 is only the program's (Go keeps g in R28)

	// The vDSO's identity for the Go runtime (runtime/vdso_linux_arm64.go).
	// Signal handlers return through sigreturnTramp in the text, not
	// through the vDSO.
	vdsoMachine     = 183 // EM_AARCH64
	vdsoSymbol      = "__kernel_clock_gettime"
	vdsoVersion     = "LINUX_2.6.39"
	vdsoVersionHash = 0x75fcb89
)

// frame is the register frame EL1 saves at frameAddr (cpu_arm64.s uses
// these offsets: X0 at 0, SP at 248, PC at 256, ...).
type frame struct {
	X      [31]uint64
	SP     uint64
	PC     uint64 // ELR_EL1: for an SVC, the instruction after it
	PSTATE uint64 // SPSR_EL1
	TPIDR  uint64 // TPIDR_EL0
	ESR    uint64
	FAR    uint64
	Slot   uint64 // the vector slot: 8 synchronous, 9 IRQ
	OrigX0 uint64 // X0 at the system call, for a restart
	_      uint64
}
