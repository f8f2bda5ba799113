package monitor

import (
	"fmt"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
	"github.com/unimon/unimon/monitor/x86_64"
)

var hostArch arch = amd64{}

// amd64 boots hvt guests on x86_64: hypercalls are `outl` to ports
// 0x500+nr carrying the 32-bit GPA of the argument struct.
type amd64 struct{}

func (amd64) machine() elfload.Machine { return elfload.MachineX86_64 }

func (amd64) checkHost() error { return kvm.CheckHostOS() }

// createVCPU gives a unikernel that asks for it (guestabi.RequestIRQChip)
// an in-kernel local APIC the guest may drive in x2APIC mode with its
// timer (x86_64.CreateIRQChip). Unikernels that do not ask, every upstream
// Solo5 one among them, keep upstream's machine, where HLT exits to the
// monitor.
func (amd64) createVCPU(sys *kvm.System, vm *kvm.VM, request uint32) (*kvm.VCPU, uint32, error) {
	var features uint32
	if request&guestabi.RequestIRQChip != 0 {
		kind, err := x86_64.CreateIRQChip(vm)
		if err != nil {
			return nil, 0, fmt.Errorf("creating the in-kernel irqchip the unikernel asks for: %w", err)
		}
		if kind != x86_64.IRQChipNone {
			features |= guestabi.FeatureIRQChip
		}
	}
	vcpu, err := vm.CreateVCPU(0)
	return vcpu, features, err
}

// prefetch asks for KVM's supported CPUID, which kvm keeps for the
// process: ~0.9 ms here, as long as creating the VM and its vCPU.
func (amd64) prefetch(sys *kvm.System) { sys.SupportedCPUID() }

func (amd64) setupMemory(mem *guestmem.Memory) error { return x86_64.SetupMemory(mem) }

func (amd64) setupVCPU(sys *kvm.System, vcpu *kvm.VCPU, entry, memSize uint64, hostFeatures uint32) (uint64, error) {
	if n, _ := sys.CheckExtension(kvm.CapGetTSCKHz); n <= 0 {
		return 0, fmt.Errorf("%w: KVM lacks KVM_CAP_GET_TSC_KHZ: cannot tell the guest its TSC frequency", kvm.ErrUnavailable)
	}
	khz, err := vcpu.TSCKHz()
	if err != nil {
		return 0, err
	}
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		return 0, err
	}
	irqchip := hostFeatures&guestabi.FeatureIRQChip != 0
	if err := vcpu.SetCPUID(x86_64.FilterCPUID(cpuid, irqchip, uint32(khz))); err != nil {
		return 0, err
	}
	sregs, err := vcpu.Sregs()
	if err != nil {
		return 0, err
	}
	x86_64.SetupSregs(&sregs)
	if err := vcpu.SetSregs(sregs); err != nil {
		return 0, err
	}
	if err := vcpu.SetRegs(x86_64.EntryRegs(entry, memSize)); err != nil {
		return 0, err
	}
	return khz * 1000, nil
}

func (amd64) decodeExit(vcpu *kvm.VCPU, reason uint32, memSize uint64) (nr, arg uint64, ok bool, err error) {
	switch reason {
	case kvm.ExitIO:
		nr, arg, err := x86_64.Hypercall(vcpu.IO())
		return nr, arg, err == nil, err
	case kvm.ExitMMIO:
		// No MMIO device exists on x86_64. On standard KVM a write to
		// read-only guest text fails KVM_RUN with EFAULT; on the nested PVM
		// hosts unimon is tested on it arrives as an MMIO exit instead.
		m := vcpu.MMIO()
		what := "read from"
		if m.IsWrite {
			what = "write to"
		}
		where := "unmapped guest-physical address"
		if m.Addr < memSize {
			where = "read-only guest memory at"
		}
		return 0, 0, false, fmt.Errorf("%s %s gpa=%#x (%d bytes)", what, where, m.Addr, m.Len)
	}
	return 0, 0, false, nil
}

func (amd64) state(vcpu *kvm.VCPU) string {
	r, err := vcpu.Regs()
	if err != nil {
		return "registers unavailable: " + err.Error()
	}
	s := fmt.Sprintf("rip=%#x rsp=%#x rflags=%#x", r.RIP, r.RSP, r.RFLAGS)
	if sr, err := vcpu.Sregs(); err == nil {
		s += fmt.Sprintf(" cr2=%#x", sr.CR2)
	}
	return s
}
