package coredump

import "encoding/binary"

// (Not prstatus_arm64.go: that name would build this file on arm64 hosts
// only, and cores are written and tested on every host.)

// Layout of Linux's struct elf_prstatus on arm64 (392 bytes, which is how
// gdb and BFD recognise it): the common part (prstatus), then struct
// user_pt_regs (272 bytes) at prReg, then pr_fpvalid and padding.
const prstatusSizeARM64 = 392

// UserPtRegs is arm64's struct user_pt_regs, the general registers of a
// core: x0-x30, the stack pointer in use, the program counter and
// PSTATE.
type UserPtRegs struct {
	X              [31]uint64
	SP, PC, PState uint64
}

// PRStatusARM64 is the NT_PRSTATUS descriptor for arm64 registers, with
// sig as the current signal.
func PRStatusARM64(r UserPtRegs, sig int) []byte {
	return prstatus(prstatusSizeARM64, sig, append(r.X[:], r.SP, r.PC, r.PState))
}

// fpregsetSizeARM64 is the size of arm64's struct user_fpsimd_state, the
// NT_FPREGSET descriptor: v0-v31, FPSR, FPCR and 8 reserved bytes.
const fpregsetSizeARM64 = 32*16 + 4 + 4 + 8

// FPSIMD is arm64's struct user_fpsimd_state: the FP/SIMD registers
// v0-v31 (each as its 16 little-endian bytes), FPSR and FPCR.
type FPSIMD struct {
	V          [32][16]byte
	FPSR, FPCR uint32
}

// FPRegsetARM64 is the NT_FPREGSET descriptor for arm64, from which gdb
// reads v0-v31, fpsr and fpcr.
func FPRegsetARM64(f FPSIMD) []byte {
	b := make([]byte, fpregsetSizeARM64)
	for i, v := range f.V {
		copy(b[16*i:], v[:])
	}
	le := binary.LittleEndian
	le.PutUint32(b[512:], f.FPSR)
	le.PutUint32(b[516:], f.FPCR)
	return b
}
