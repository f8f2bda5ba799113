//go:build !unimon_nodebug

package monitor

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/unimon/unimon/monitor/arm64"
	"github.com/unimon/unimon/monitor/coredump"
	"github.com/unimon/unimon/monitor/guestmem"
)

// coreImage gathers the vCPU's registers (KVM_GET_ONE_REG, in arm64's
// user_pt_regs and user_fpsimd_state layouts) and the guest's virtual
// memory, walking its stage-1 tables from TTBR0_EL1 when its MMU is on.
// Unlike x86_64 there is no HALT cookie to decode: neither upstream's
// aarch64 bindings nor unimon's pass trap registers in it, so the core
// shows the HALT.
func (vm *VM) coreImage(sig int, halted bool) (coredump.Core, error) {
	read := func(name string, id uint64) (uint64, error) {
		v, err := vm.vcpu.OneReg(id)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", name, err)
		}
		return v, nil
	}
	var r coredump.UserPtRegs
	for i := range r.X {
		v, err := read(fmt.Sprintf("x%d", i), arm64.RegX(i))
		if err != nil {
			return coredump.Core{}, err
		}
		r.X[i] = v
	}
	var sp0, sp1, sctlr, ttbr0, tcr uint64
	for _, reg := range []struct {
		name string
		id   uint64
		v    *uint64
	}{
		{"pc", arm64.RegPC, &r.PC}, {"pstate", arm64.RegPSTATE, &r.PState},
		{"sp_el0", arm64.RegSPEL0, &sp0}, {"sp_el1", arm64.RegSPEL1, &sp1},
		{"SCTLR_EL1", arm64.RegSCTLREL1, &sctlr}, {"TTBR0_EL1", arm64.RegTTBR0EL1, &ttbr0},
		{"TCR_EL1", arm64.RegTCREL1, &tcr},
	} {
		v, err := read(reg.name, reg.id)
		if err != nil {
			return coredump.Core{}, err
		}
		*reg.v = v
	}
	r.SP = arm64.StackPointer(r.PState, sp0, sp1)
	fp, err := vm.fpsimd()
	if err != nil {
		return coredump.Core{}, err
	}
	c := coredump.Core{
		Machine: elf.EM_AARCH64,
		Notes: []coredump.Note{
			{Name: "CORE", Type: elf.NT_PRSTATUS, Desc: coredump.PRStatusARM64(r, sig)},
			{Name: "CORE", Type: elf.NT_FPREGSET, Desc: coredump.FPRegsetARM64(fp)},
		},
	}
	var maps []guestmem.Mapping
	if sctlr&arm64.SCTLRM != 0 {
		// A regime the walk does not read, or a TTBR0 outside memory,
		// leaves maps empty: the core then holds physical memory.
		maps, _, _ = arm64.Mappings(vm.mem, ttbr0, tcr)
	}
	c.Segments = vm.segments(maps)
	return c, nil
}

// fpsimd reads the FP/SIMD registers, where floating-point variables
// live and through which the Go runtime copies memory.
func (vm *VM) fpsimd() (coredump.FPSIMD, error) {
	var f coredump.FPSIMD
	for i := range f.V {
		b, err := vm.vcpu.OneRegBytes(arm64.RegV(i))
		if err != nil {
			return f, fmt.Errorf("reading v%d: %w", i, err)
		}
		copy(f.V[i][:], b)
	}
	for _, reg := range []struct {
		name string
		id   uint64
		v    *uint32
	}{{"fpsr", arm64.RegFPSR, &f.FPSR}, {"fpcr", arm64.RegFPCR, &f.FPCR}} {
		b, err := vm.vcpu.OneRegBytes(reg.id)
		if err != nil {
			return f, fmt.Errorf("reading %s: %w", reg.name, err)
		}
		*reg.v = binary.LittleEndian.Uint32(b)
	}
	return f, nil
}
