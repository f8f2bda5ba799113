package probe

import (
	"os"
	"testing"
	"unsafe"

	"github.com/unimon/unimon/internal/kvmtest"
	"golang.org/x/sys/unix"
)

// ioctl numbers from <linux/kvm.h>, spelled out so this probe depends on
// nothing but the kernel.
const (
	kvmGetAPIVersion = 0xAE00
	kvmCreateVM      = 0xAE01
	kvmCreateVCPU    = 0xAE41
	// _IOR(KVMIO, 0xaf, struct kvm_vcpu_init), 32 bytes.
	kvmARMPreferredTarget = 0x8020AEAF
	// _IOW(KVMIO, 0xae, struct kvm_vcpu_init).
	kvmARMVCPUInit = 0x4020AEAE
)

// ioctl retries EINTR: Go's signals (preemption, GC) interrupt ioctls.
// arg is an unsafe.Pointer so the pointee stays alive and in place until
// the system call returns.
func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return r, errno
		}
		return r, nil
	}
}

func TestKVMAPIVersionAndVM(t *testing.T) {
	kvmtest.Require(t)
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := ioctl(f.Fd(), kvmGetAPIVersion, nil)
	if err != nil || v != 12 {
		t.Fatalf("KVM_GET_API_VERSION = %d, %v; want 12", v, err)
	}
	vm, err := ioctl(f.Fd(), kvmCreateVM, nil)
	if err != nil {
		t.Fatalf("KVM_CREATE_VM: %v", err)
	}
	defer unix.Close(int(vm))
	vcpu, err := ioctl(vm, kvmCreateVCPU, nil)
	if err != nil {
		t.Fatalf("KVM_CREATE_VCPU: %v", err)
	}
	defer unix.Close(int(vcpu))
	var init struct {
		Target   uint32
		Features [7]uint32
	}
	if _, err := ioctl(vm, kvmARMPreferredTarget, unsafe.Pointer(&init)); err != nil {
		t.Fatalf("KVM_ARM_PREFERRED_TARGET: %v", err)
	}
	init.Features[0] |= 1 << 2 // KVM_ARM_VCPU_PSCI_0_2
	if _, err := ioctl(vcpu, kvmARMVCPUInit, unsafe.Pointer(&init)); err != nil {
		t.Fatalf("KVM_ARM_VCPU_INIT (target %d, PSCI 0.2): %v", init.Target, err)
	}
	t.Logf("arm64 KVM: API 12, preferred target %d, vCPU initialised with PSCI 0.2", init.Target)
}
