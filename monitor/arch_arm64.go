package monitor

import (
	"errors"
	"fmt"
	"os"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/arm64"
	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
)

var hostArch arch = arm64Arch{}

// arm64Arch boots hvt guests on aarch64: hypercalls are 4-byte MMIO
// stores to 0x1_0000_0000 + nr<<3 carrying the 32-bit GPA of the argument
// struct, and the vCPU starts at EL1 with the MMU on.
type arm64Arch struct{}

func (arm64Arch) machine() elfload.Machine { return elfload.MachineAArch64 }

// checkHost refuses 16 KiB and 64 KiB page hosts: the hvt page tables
// and the loader's host protections are laid out in 4 KiB pages.
func (arm64Arch) checkHost() error {
	if err := kvm.CheckHostOS(); err != nil {
		return err
	}
	if err := arm64.CheckHostPageSize(os.Getpagesize()); err != nil {
		return fmt.Errorf("%w: %w", ErrKVM, err)
	}
	return nil
}

// prefetch has nothing to ask ahead on arm64: setupVCPU's calls are on
// the VM and vCPU.
func (arm64Arch) prefetch(*kvm.System) {}

// createVCPU creates vCPU 0 and initialises it as the host's preferred CPU
// model with PSCI 0.2, so a guest's PSCI SYSTEM_OFF or SYSTEM_RESET comes
// back as a system event the monitor can report.
//
// A unikernel that asks for an irqchip (guestabi.RequestIRQChip) gets
// KVM's in-kernel GICv3 at guestabi.GICDistBase and GICRedistBase, which
// delivers the generic timer's interrupts; on a host that cannot give one
// (a GICv2 host) it runs without, as on upstream solo5-hvt.
func (arm64Arch) createVCPU(sys *kvm.System, vm *kvm.VM, request uint32) (*kvm.VCPU, uint32, error) {
	// Have KVM report an MMIO access it cannot decode (a load/store pair,
	// a writeback form) as an exit this backend can name, rather than
	// failing KVM_RUN with a bare ENOSYS. Kernels before 5.5 lack the
	// capability; there such an access still ends the VM, less clearly.
	if n, _ := vm.CheckExtension(kvm.CapARMNISVToUser); n > 0 {
		if err := vm.EnableCap(kvm.CapARMNISVToUser); err != nil {
			return nil, 0, err
		}
	}
	vcpu, err := vm.CreateVCPU(0)
	if err != nil {
		return nil, 0, err
	}
	init, err := vm.PreferredTarget()
	if err == nil {
		init.Features[0] |= 1 << kvm.FeaturePSCI02
		err = vcpu.Init(init)
	}
	if err != nil {
		vcpu.Close()
		return nil, 0, err
	}
	var features uint32
	if request&guestabi.RequestIRQChip != 0 {
		ok, err := createGIC(vm)
		if err != nil {
			vcpu.Close()
			return nil, 0, fmt.Errorf("creating the in-kernel GICv3 the unikernel asks for: %w", err)
		}
		if ok {
			features |= guestabi.FeatureIRQChip
		}
	}
	return vcpu, features, nil
}

// createGIC creates and initialises the GICv3 once vCPU 0 exists; false
// when the host has none to give. The device fd is closed at once: the
// GIC lives as long as the VM.
func createGIC(vm *kvm.VM) (bool, error) {
	gic, err := vm.CreateGICv3(guestabi.GICDistBase, guestabi.GICRedistBase)
	if errors.Is(err, kvm.ErrNoGICv3) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer gic.Close()
	return true, gic.Init()
}

func (arm64Arch) setupMemory(mem *guestmem.Memory) error { return arm64.SetupMemory(mem) }

func (arm64Arch) setupVCPU(sys *kvm.System, vcpu *kvm.VCPU, entry, memSize uint64, hostFeatures uint32) (uint64, error) {
	cpacr, err := vcpu.OneReg(arm64.RegCPACREL1)
	if err != nil {
		return 0, err
	}
	if err := vcpu.SetOneReg(arm64.RegCPACREL1, arm64.CPACR(cpacr)); err != nil {
		return 0, err
	}
	for _, r := range arm64.EntryRegs(entry, memSize) {
		if err := vcpu.SetOneReg(r.ID, r.Value); err != nil {
			return 0, fmt.Errorf("setting %s: %w", r.Name, err)
		}
	}
	freq, err := arm64.HostCounterFrequency()
	if err != nil {
		return 0, fmt.Errorf("%w: cannot tell the guest its counter frequency: %w", ErrKVM, err)
	}
	return freq, nil
}

// decodeExit turns MMIO exits into hypercalls or errors naming the
// access, and names the PSCI 0.2 calls SYSTEM_OFF and SYSTEM_RESET, which
// KVM implements itself and reports as system events: an hvt guest ends
// with the HALT hypercall, never with those.
func (arm64Arch) decodeExit(vcpu *kvm.VCPU, reason uint32, memSize uint64) (nr, arg uint64, ok bool, err error) {
	switch reason {
	case kvm.ExitMMIO:
		m := vcpu.MMIO()
		if m.Addr < memSize {
			// RAM is one memory slot, so an MMIO exit inside it is a
			// store KVM could not complete: the host mapping is read-only.
			return 0, 0, false, fmt.Errorf("guest write to read-only guest memory at gpa=%#x (%d bytes)", m.Addr, m.Len)
		}
		nr, arg, err := arm64.DecodeHypercall(m.Addr, m.IsWrite, m.Data)
		if err != nil {
			return 0, 0, false, err
		}
		return nr, arg, true, nil
	case kvm.ExitARMNISV:
		_, ipa := vcpu.ARMNISV()
		return 0, 0, false, fmt.Errorf("%w: access to gpa=%#x that KVM cannot decode (a load/store pair or a writeback addressing mode); hypercalls are `str w0, [x1]`", arm64.ErrMMIO, ipa)
	case kvm.ExitSystemEvent:
		typ, _ := vcpu.SystemEvent()
		switch typ {
		case kvm.SystemEventShutdown:
			return 0, 0, false, fmt.Errorf("guest called PSCI SYSTEM_OFF instead of the HALT hypercall")
		case kvm.SystemEventReset:
			return 0, 0, false, fmt.Errorf("guest called PSCI SYSTEM_RESET; unikernels cannot be reset, they halt with the HALT hypercall")
		}
	}
	return 0, 0, false, nil
}

func (arm64Arch) state(vcpu *kvm.VCPU) string {
	regs := []struct {
		name string
		id   uint64
	}{
		// Not ESR_EL1/FAR_EL1: they hold KVM's reset poison until the
		// guest takes an exception, and a guest that takes one without a
		// vector table loops inside the guest instead of exiting.
		{"pc", arm64.RegPC}, {"sp_el1", arm64.RegSPEL1}, {"pstate", arm64.RegPSTATE},
		{"elr_el1", arm64.SysReg(3, 0, 4, 0, 1)},
	}
	s := ""
	for i, r := range regs {
		v, err := vcpu.OneReg(r.id)
		if err != nil {
			if i == 0 {
				return "registers unavailable: " + err.Error()
			}
			continue
		}
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%s=%#x", r.name, v)
	}
	return s
}
