package arm64

import "github.com/unimon/unimon/guestabi"

// KVM_{GET,SET}_ONE_REG register IDs for arm64 (linux/kvm.h,
// arch/arm64/include/uapi/asm/kvm.h). They are plain numbers, defined here
// rather than in package kvm so this package and its tests build on every
// host.
const (
	regARM64    = 0x6000_0000_0000_0000
	regSizeU32  = 0x0020_0000_0000_0000
	regSizeU64  = 0x0030_0000_0000_0000
	regSizeU128 = 0x0040_0000_0000_0000
	regCore     = 0x0010 << 16
	regSysreg   = 0x0013 << 16
)

// coreReg names a field of struct kvm_regs by its offset in 32-bit words.
func coreReg(words uint64) uint64 { return regARM64 | regSizeU64 | regCore | words }

// SysReg is the register ID of the system register with the given
// MRS/MSR encoding.
func SysReg(op0, op1, crn, crm, op2 uint64) uint64 {
	return regARM64 | regSizeU64 | regSysreg | op0<<14 | op1<<11 | crn<<7 | crm<<3 | op2
}

// Core registers: offsets into struct kvm_regs, whose user_pt_regs starts
// with x0..x30 (8 bytes each), then sp, pc, pstate, then sp_el1.
var (
	RegSPEL0  = coreReg(62) // user_pt_regs.sp
	RegPC     = coreReg(64)
	RegPSTATE = coreReg(66)
	RegSPEL1  = coreReg(68)
)

// RegX returns the register ID of general-purpose register Xn.
func RegX(n int) uint64 { return coreReg(uint64(2 * n)) }

// The FP/SIMD registers, in struct kvm_regs's fp_regs (a struct
// user_fpsimd_state, 16-byte aligned at byte 336 after sp_el1, elr_el1
// and the five SPSRs): v0-v31 of 16 bytes each, then the 32-bit FPSR
// and FPCR. Read them with KVM_GET_ONE_REG of the size the ID says.
const (
	fpRegsWords = 336 / 4
	RegFPSR     = regARM64 | regSizeU32 | regCore | fpRegsWords + 32*4
	RegFPCR     = regARM64 | regSizeU32 | regCore | fpRegsWords + 32*4 + 1
)

// RegV returns the register ID of FP/SIMD register Vn (128 bits).
func RegV(n int) uint64 { return regARM64 | regSizeU128 | regCore | fpRegsWords + 4*uint64(n) }

// System registers the monitor sets or reads.
var (
	RegSCTLREL1 = SysReg(3, 0, 1, 0, 0)
	RegCPACREL1 = SysReg(3, 0, 1, 0, 2)
	RegTTBR0EL1 = SysReg(3, 0, 2, 0, 0)
	RegTCREL1   = SysReg(3, 0, 2, 0, 2)
	RegMAIREL1  = SysReg(3, 0, 10, 2, 0)
)

// Register values at entry (ABI doc section 10).
const (
	// SCTLR is M|C|I: stage-1 translation on, data and instruction caches on.
	SCTLR = SCTLRM | 1<<2 | 1<<12
	// SCTLRM is SCTLR_EL1.M: stage-1 translation is on.
	SCTLRM = 1 << 0

	// TCR: 40-bit virtual and physical addresses (T0SZ = T1SZ = 24), 4 KiB
	// granules, inner/outer write-back write-allocate walks, inner
	// shareable, 16-bit ASIDs, top byte ignored for TTBR0, IPS = 1 TiB.
	TCR = 24 | 24<<16 | // T0SZ, T1SZ
		1<<8 | 1<<24 | // IRGN0, IRGN1: WBWA
		1<<10 | 1<<26 | // ORGN0, ORGN1: WBWA
		3<<12 | 3<<28 | // SH0, SH1: inner shareable
		0<<14 | 2<<30 | // TG0 = 4 KiB, TG1 = 4 KiB
		2<<32 | // IPS: 40 bits
		1<<36 | // AS: 16-bit ASID
		1<<37 // TBI0

	// MAIR holds the memory types the descriptors' AttrIndx selects:
	// 0 Device-nGnRnE, 1 Device-nGnRE, 2 Device-GRE, 3 Normal non-cacheable,
	// 4 Normal write-back, 5 Normal write-through.
	MAIR = 0x00 | 0x04<<8 | 0x0c<<16 | 0x44<<24 | 0xff<<32 | 0xbb<<40

	// TTBR0 is the level 0 table.
	TTBR0 = PGDBase

	// PSTATE masks D, A, I and F and selects EL1h: the guest runs with
	// interrupts off on SP_EL1.
	PSTATE = 1<<9 | 1<<8 | 1<<7 | 1<<6 | 5

	cpacrFPENShift = 20
	cpacrFPENMask  = 3 << cpacrFPENShift
)

// CPACR returns the CPACR_EL1 value old with FPEN = 3, so FP and SIMD
// instructions do not trap at EL0 or EL1; the other bits stay as KVM reset
// them.
func CPACR(old uint64) uint64 { return old&^cpacrFPENMask | cpacrFPENMask }

// Reg is one register to set with KVM_SET_ONE_REG.
type Reg struct {
	Name  string // for error messages
	ID    uint64
	Value uint64
}

// EntryRegs returns the registers a guest starts with, in the order to
// set them: translation state before SCTLR turns the MMU on, then the
// core registers. x0 points at the boot info; SP_EL1 is 16 bytes below the
// top of memory, 16-byte aligned as AAPCS64 wants. CPACR_EL1 is not among
// them: the monitor reads it back and applies CPACR.
func EntryRegs(entry, memSize uint64) []Reg {
	return []Reg{
		{"MAIR_EL1", RegMAIREL1, MAIR},
		{"TCR_EL1", RegTCREL1, TCR},
		{"TTBR0_EL1", RegTTBR0EL1, TTBR0},
		{"SCTLR_EL1", RegSCTLREL1, SCTLR},
		{"PSTATE", RegPSTATE, PSTATE},
		{"SP_EL1", RegSPEL1, memSize - 16},
		{"X0", RegX(0), guestabi.BootInfoAddr},
		{"PC", RegPC, entry},
	}
}

// StackPointer is the stack pointer in use under pstate: SP_EL1 when
// PSTATE.SP selects the exception level's own (EL1h, where hvt guests
// start), SP_EL0 at EL0 and in EL1t. A core gives it as sp, as Linux's
// gives a process's.
func StackPointer(pstate, spEL0, spEL1 uint64) uint64 {
	if pstate&pstateSP != 0 {
		return spEL1
	}
	return spEL0
}

const pstateSP = 1 << 0 // PSTATE.SP, bit 0 of the mode field M[3:0]
