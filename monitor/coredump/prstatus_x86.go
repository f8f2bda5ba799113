package coredump

import (
	"encoding/binary"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/kvm"
)

// Layout of Linux's struct elf_prstatus on x86_64, which gdb reads from
// NT_PRSTATUS: the common part (prstatus), then struct user_regs_struct
// at prReg.
const prstatusSizeAMD64 = 336

// TrapRegs is upstream's struct x86_trap_regs: what a Solo5 guest's trap
// handler passes as its HALT cookie after a fault. CR2 and EC are there
// for the reader; RIP, CS, RFLAGS, RSP and SS replace the vCPU's.
type TrapRegs struct {
	CR2, EC, RIP, CS, RFLAGS, RSP, SS uint64
}

// DecodeTrapRegs reads a TrapRegs from a HALT cookie; ok is false when
// the cookie is too short.
func DecodeTrapRegs(b []byte) (t TrapRegs, ok bool) {
	if len(b) < guestabi.TrapRegsSize {
		return t, false
	}
	le := binary.LittleEndian
	f := []*uint64{&t.CR2, &t.EC, &t.RIP, &t.CS, &t.RFLAGS, &t.RSP, &t.SS}
	for i, p := range f {
		*p = le.Uint64(b[8*i:])
	}
	return t, true
}

// PRStatusAMD64 is the NT_PRSTATUS descriptor for x86_64 registers, with
// sig as the current signal, as upstream's dumpcore fills it.
func PRStatusAMD64(r kvm.Regs, s kvm.Sregs, sig int) []byte {
	// struct user_regs_struct, in its order.
	return prstatus(prstatusSizeAMD64, sig, []uint64{
		r.R15, r.R14, r.R13, r.R12, r.RBP, r.RBX, r.R11, r.R10,
		r.R9, r.R8, r.RAX, r.RCX, r.RDX, r.RSI, r.RDI, 0, /* orig_rax */
		r.RIP, uint64(s.CS.Selector), r.RFLAGS, r.RSP, uint64(s.SS.Selector),
		s.FS.Base, s.GS.Base,
		uint64(s.DS.Selector), uint64(s.ES.Selector), uint64(s.FS.Selector), uint64(s.GS.Selector),
	})
}
