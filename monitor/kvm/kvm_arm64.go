package kvm

import (
	"fmt"
	"unsafe"
)

// VCPUInit is struct kvm_vcpu_init: the CPU model a vCPU emulates and the
// optional features it gets.
type VCPUInit struct {
	Target   uint32
	Features [7]uint32
}

// VCPU features (KVM_ARM_VCPU_*), bit numbers in Features[0].
const (
	// FeaturePSCI02 gives the guest PSCI 0.2 (SYSTEM_OFF, SYSTEM_RESET,
	// ...), which KVM reports to userspace as system events.
	FeaturePSCI02 = 2
)

type oneReg struct {
	ID   uint64
	Addr uint64
}

var (
	kvmARMVCPUInit        = iow(0xae, unsafe.Sizeof(VCPUInit{}))
	kvmARMPreferredTarget = ior(0xaf, unsafe.Sizeof(VCPUInit{}))
	kvmGetOneReg          = iow(0xab, unsafe.Sizeof(oneReg{}))
	kvmSetOneReg          = iow(0xac, unsafe.Sizeof(oneReg{}))
)

// PreferredTarget returns KVM_ARM_PREFERRED_TARGET: the CPU model closest
// to the host, with no features set.
func (vm *VM) PreferredTarget() (VCPUInit, error) {
	var init VCPUInit
	if _, err := ioctlPtr(vm.fd, kvmARMPreferredTarget, unsafe.Pointer(&init)); err != nil {
		return init, fmt.Errorf("KVM_ARM_PREFERRED_TARGET: %w", err)
	}
	return init, nil
}

// Init resets the vCPU to init's CPU model and features
// (KVM_ARM_VCPU_INIT). A vCPU must be initialised before its registers are
// set or it runs.
func (c *VCPU) Init(init VCPUInit) error {
	if _, err := ioctlPtr(c.fd, kvmARMVCPUInit, unsafe.Pointer(&init)); err != nil {
		return fmt.Errorf("KVM_ARM_VCPU_INIT (target %d, features %#x): %w", init.Target, init.Features[0], err)
	}
	return nil
}

// OneReg reads the 64-bit register id (KVM_GET_ONE_REG).
func (c *VCPU) OneReg(id uint64) (uint64, error) {
	var v uint64
	err := c.getOneReg(id, unsafe.Pointer(&v))
	// v is reached only through the uintptr the ioctl gets; keep it
	// alive (and on the heap, see escape below) until the kernel has
	// written it.
	escape(&v)
	return v, err
}

// getOneReg is KVM_GET_ONE_REG of register id into the memory at p, which
// must hold the register's size and stay put (heap) meanwhile.
func (c *VCPU) getOneReg(id uint64, p unsafe.Pointer) error {
	r := oneReg{ID: id, Addr: uint64(uintptr(p))}
	if _, err := ioctlPtr(c.fd, kvmGetOneReg, unsafe.Pointer(&r)); err != nil {
		return fmt.Errorf("KVM_GET_ONE_REG %#x: %w", id, err)
	}
	return nil
}

// OneRegBytes reads register id of any size (KVM_GET_ONE_REG): as many
// bytes as its ID's KVM_REG_SIZE field says, such as the 16 of an FP/SIMD
// register or the 4 of FPSR.
func (c *VCPU) OneRegBytes(id uint64) ([]byte, error) {
	// The returned buffer lives on the heap, where the kernel may write
	// it through the uintptr below.
	b := make([]byte, 1<<(id>>regSizeShift&0xf))
	if err := c.getOneReg(id, unsafe.Pointer(&b[0])); err != nil {
		return nil, err
	}
	return b, nil
}

// regSizeShift is where a register ID holds log2 of its size in bytes
// (KVM_REG_SIZE_SHIFT).
const regSizeShift = 52

// SetOneReg writes the 64-bit register id (KVM_SET_ONE_REG).
func (c *VCPU) SetOneReg(id, value uint64) error {
	v := value
	r := oneReg{ID: id, Addr: uint64(uintptr(unsafe.Pointer(&v)))}
	_, err := ioctlPtr(c.fd, kvmSetOneReg, unsafe.Pointer(&r))
	escape(&v)
	if err != nil {
		return fmt.Errorf("KVM_SET_ONE_REG %#x = %#x: %w", id, value, err)
	}
	return nil
}

// escapeSink forces what escape is given onto the heap: the address of a
// value the kernel reaches through a uintptr must not be a stack slot that
// could move.
var escapeSink any

//go:noinline
func escape(p *uint64) {
	if p == nil {
		escapeSink = p
	}
}

// CapARMNISVToUser (KVM_CAP_ARM_NISV_TO_USER) makes KVM report a guest
// MMIO access it cannot decode (no valid instruction syndrome: a
// load/store pair, a writeback addressing mode) as ExitARMNISV instead of
// failing KVM_RUN with ENOSYS.
const CapARMNISVToUser = 177

// ExitARMNISV is KVM_EXIT_ARM_NISV; see CapARMNISVToUser.
const ExitARMNISV = 28

// ARMNISV decodes a KVM_EXIT_ARM_NISV: the syndrome bits KVM has and the
// guest-physical address of the access.
func (c *VCPU) ARMNISV() (esrISS, faultIPA uint64) {
	return c.u64(offExitUnion), c.u64(offExitUnion + 8)
}
