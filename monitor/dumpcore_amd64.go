//go:build !unimon_nodebug

package monitor

import (
	"debug/elf"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/coredump"
	"github.com/unimon/unimon/monitor/kvm"
	"github.com/unimon/unimon/monitor/x86_64"
)

// coreImage gathers the vCPU's registers and the guest's virtual memory.
// After an abort whose HALT cookie holds trap registers (upstream's
// x86_trap_regs, or unimon's whole frame after them), the core shows the
// trapping instruction rather than the HALT.
func (vm *VM) coreImage(sig int, halted bool) (coredump.Core, error) {
	regs, err := vm.vcpu.Regs()
	if err != nil {
		return coredump.Core{}, err
	}
	sregs, err := vm.vcpu.Sregs()
	if err != nil {
		return coredump.Core{}, err
	}
	if f, ok := guestabi.DecodeFrameCookie(vm.haltCookie); ok && halted {
		// unimon's bindings: every register of the faulting instruction.
		regs = kvm.Regs{RAX: f.RAX, RBX: f.RBX, RCX: f.RCX, RDX: f.RDX, RSI: f.RSI, RDI: f.RDI,
			RSP: f.RSP, RBP: f.RBP, R8: f.R8, R9: f.R9, R10: f.R10, R11: f.R11, R12: f.R12,
			R13: f.R13, R14: f.R14, R15: f.R15, RIP: f.RIP, RFLAGS: f.RFLAGS}
		sregs.CS.Selector, sregs.SS.Selector = uint16(f.CS), uint16(f.SS)
	} else if t, ok := coredump.DecodeTrapRegs(vm.haltCookie); ok && halted {
		regs.RIP, regs.RFLAGS, regs.RSP = t.RIP, t.RFLAGS, t.RSP
		sregs.CS.Selector, sregs.SS.Selector = uint16(t.CS), uint16(t.SS)
	}
	c := coredump.Core{
		Machine: elf.EM_X86_64,
		Notes:   []coredump.Note{{Name: "CORE", Type: elf.NT_PRSTATUS, Desc: coredump.PRStatusAMD64(regs, sregs, sig)}},
	}
	var maps []x86_64.Mapping
	if sregs.CR0&x86_64.CR0PG != 0 {
		maps, _ = x86_64.Mappings(vm.mem, sregs.CR3)
	}
	c.Segments = vm.segments(maps)
	return c, nil
}
