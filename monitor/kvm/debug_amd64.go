package kvm

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

var (
	kvmGetFPU        = ior(0x8c, unsafe.Sizeof(FPU{}))
	kvmSetFPU        = iow(0x8d, unsafe.Sizeof(FPU{}))
	kvmSetGuestDebug = iow(0x9b, unsafe.Sizeof(GuestDebug{}))
	kvmGetDebugRegs  = ior(0xa1, unsafe.Sizeof(DebugRegs{}))
)

// CapSetGuestDebug is KVM_CAP_SET_GUEST_DEBUG.
const CapSetGuestDebug = 23

// FPU returns the x87 and SSE state.
func (c *VCPU) FPU() (FPU, error) {
	var f FPU
	if _, err := ioctlPtr(c.fd, kvmGetFPU, unsafe.Pointer(&f)); err != nil {
		return f, fmt.Errorf("KVM_GET_FPU: %w", err)
	}
	return f, nil
}

// SetFPU sets the x87 and SSE state.
func (c *VCPU) SetFPU(f FPU) error {
	if _, err := ioctlPtr(c.fd, kvmSetFPU, unsafe.Pointer(&f)); err != nil {
		return fmt.Errorf("KVM_SET_FPU: %w", err)
	}
	return nil
}

// DebugRegs returns the guest's own debug registers.
func (c *VCPU) DebugRegs() (DebugRegs, error) {
	var d DebugRegs
	if _, err := ioctlPtr(c.fd, kvmGetDebugRegs, unsafe.Pointer(&d)); err != nil {
		return d, fmt.Errorf("KVM_GET_DEBUGREGS: %w", err)
	}
	return d, nil
}

// SetGuestDebug sets what the host debugger traps: single step, int3,
// hardware breakpoints and watchpoints (KVM_SET_GUEST_DEBUG). A zero
// GuestDebug turns debugging off.
func (c *VCPU) SetGuestDebug(d GuestDebug) error {
	if _, err := ioctlPtr(c.fd, kvmSetGuestDebug, unsafe.Pointer(&d)); err != nil {
		return fmt.Errorf("KVM_SET_GUEST_DEBUG (control %#x): %w", d.Control, err)
	}
	return nil
}

// Debug decodes a KVM_EXIT_DEBUG.
func (c *VCPU) Debug() DebugExit {
	return DebugExit{
		Exception: c.u32(offExitUnion),
		PC:        c.u64(offExitUnion + 8),
		DR6:       c.u64(offExitUnion + 16),
		DR7:       c.u64(offExitUnion + 24),
	}
}

// PVM reports whether /dev/kvm is the paravirtualised PVM flavour of KVM
// (module kvm_pvm), as on nested cloud hosts. Measured there: supervisor
// (CPL0) guest code runs in KVM's instruction emulator, which honours
// single steps and instruction breakpoints but not data breakpoints, and
// user-mode (CPL3) code runs natively with its #DB and #BP delivered to
// the guest's own IDT, whatever KVM_SET_GUEST_DEBUG asks.
var PVM = sync.OnceValue(func() bool {
	_, err := os.Stat("/sys/module/kvm_pvm")
	return err == nil
})
