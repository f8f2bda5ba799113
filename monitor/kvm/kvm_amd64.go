package kvm

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	kvmGetSupportedCPUID = iowr(0x05, 8) // struct kvm_cpuid2 header
	kvmGetRegs           = ior(0x81, unsafe.Sizeof(Regs{}))
	kvmSetRegs           = iow(0x82, unsafe.Sizeof(Regs{}))
	kvmGetSregs          = ior(0x83, unsafe.Sizeof(Sregs{}))
	kvmSetSregs          = iow(0x84, unsafe.Sizeof(Sregs{}))
	kvmSetCPUID2         = iow(0x90, 8)
	kvmGetTSCKHz         = io_(0xa3)
)

// maxCPUIDEntries bounds how far SupportedCPUID grows its buffer.
const maxCPUIDEntries = 1024

// supportedCPUID is KVM_GET_SUPPORTED_CPUID's answer, asked of KVM once
// per process: it describes the host's CPU and the loaded KVM module,
// which do not change under a running process, and asking is the slowest
// single call of a boot (KVM runs CPUID for every leaf, and under nested
// virtualization each of those traps: 0.85-0.93 ms for 76 entries on the
// machines measured).
var supportedCPUID struct {
	sync.Mutex
	entries []CPUIDEntry
}

// SupportedCPUID returns KVM_GET_SUPPORTED_CPUID: what KVM can show a
// guest. KVM is asked once per process; every call returns a copy of its
// own. Callers that ask at once wait for the one asking.
func (s *System) SupportedCPUID() ([]CPUIDEntry, error) {
	supportedCPUID.Lock()
	defer supportedCPUID.Unlock()
	if supportedCPUID.entries == nil {
		entries, err := s.askSupportedCPUID()
		if err != nil {
			return nil, err
		}
		supportedCPUID.entries = entries
	}
	return slices.Clone(supportedCPUID.entries), nil
}

// askSupportedCPUID makes the KVM_GET_SUPPORTED_CPUID call, with a buffer
// grown until the answer fits.
func (s *System) askSupportedCPUID() ([]CPUIDEntry, error) {
	for n := 128; n <= maxCPUIDEntries; n *= 2 {
		buf := make([]byte, 8+n*int(unsafe.Sizeof(CPUIDEntry{})))
		*(*uint32)(unsafe.Pointer(&buf[0])) = uint32(n)
		_, err := ioctlPtr(s.fd, kvmGetSupportedCPUID, unsafe.Pointer(&buf[0]))
		if errors.Is(err, unix.E2BIG) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
		}
		got := *(*uint32)(unsafe.Pointer(&buf[0]))
		entries := unsafe.Slice((*CPUIDEntry)(unsafe.Pointer(&buf[8])), got)
		return append([]CPUIDEntry(nil), entries...), nil
	}
	return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: more than %d entries", maxCPUIDEntries)
}

// SetCPUID sets what the vCPU's CPUID instruction reports.
func (c *VCPU) SetCPUID(entries []CPUIDEntry) error {
	size := int(unsafe.Sizeof(CPUIDEntry{}))
	buf := make([]byte, 8+len(entries)*size)
	*(*uint32)(unsafe.Pointer(&buf[0])) = uint32(len(entries))
	copy(unsafe.Slice((*CPUIDEntry)(unsafe.Pointer(&buf[8])), len(entries)), entries)
	if _, err := ioctlPtr(c.fd, kvmSetCPUID2, unsafe.Pointer(&buf[0])); err != nil {
		return fmt.Errorf("KVM_SET_CPUID2: %w", err)
	}
	return nil
}

// Regs returns the general-purpose registers.
func (c *VCPU) Regs() (Regs, error) {
	var r Regs
	if _, err := ioctlPtr(c.fd, kvmGetRegs, unsafe.Pointer(&r)); err != nil {
		return r, fmt.Errorf("KVM_GET_REGS: %w", err)
	}
	return r, nil
}

// SetRegs sets the general-purpose registers.
func (c *VCPU) SetRegs(r Regs) error {
	if _, err := ioctlPtr(c.fd, kvmSetRegs, unsafe.Pointer(&r)); err != nil {
		return fmt.Errorf("KVM_SET_REGS: %w", err)
	}
	return nil
}

// Sregs returns the special registers (segments, control registers).
func (c *VCPU) Sregs() (Sregs, error) {
	var s Sregs
	if _, err := ioctlPtr(c.fd, kvmGetSregs, unsafe.Pointer(&s)); err != nil {
		return s, fmt.Errorf("KVM_GET_SREGS: %w", err)
	}
	return s, nil
}

// SetSregs sets the special registers.
func (c *VCPU) SetSregs(s Sregs) error {
	if _, err := ioctlPtr(c.fd, kvmSetSregs, unsafe.Pointer(&s)); err != nil {
		return fmt.Errorf("KVM_SET_SREGS: %w", err)
	}
	return nil
}

// TSCKHz returns the guest TSC frequency in kHz.
func (c *VCPU) TSCKHz() (uint64, error) {
	r, err := ioctl(c.fd, kvmGetTSCKHz, 0)
	if errors.Is(err, unix.EIO) {
		return 0, fmt.Errorf("KVM_GET_TSC_KHZ: host TSC is unstable: %w", err)
	}
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_TSC_KHZ: %w", err)
	}
	return uint64(r), nil
}

// CreateSplitIRQChip enables KVM_CAP_SPLIT_IRQCHIP with no IOAPIC pins
// routed to userspace: each vCPU gets an in-kernel local APIC (its timer,
// HLT handled in the kernel) and the VM has no PIC or IOAPIC at all. That
// is all a guest driving its local APIC timer needs, and without the
// PIC and IOAPIC, destroying the VM skips their teardown (on the hosts
// measured, most of the cost of KVM_CREATE_IRQCHIP). It must precede
// CreateVCPU; check CapSplitIRQChip first.
func (vm *VM) CreateSplitIRQChip() error {
	// args[0], the IOAPIC pins routed to userspace, stays 0.
	if err := vm.EnableCap(CapSplitIRQChip); err != nil {
		return fmt.Errorf("split irqchip: %w", err)
	}
	return nil
}
