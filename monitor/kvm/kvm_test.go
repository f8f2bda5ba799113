package kvm

import (
	"testing"
	"unsafe"

	"github.com/unimon/unimon/internal/kvmtest"
)

// The structs cross into the kernel: their sizes are the ABI.
func TestStructSizes(t *testing.T) {
	for name, got := range map[string]uintptr{
		"kvm_regs":                    unsafe.Sizeof(Regs{}),
		"kvm_sregs":                   unsafe.Sizeof(Sregs{}),
		"kvm_segment":                 unsafe.Sizeof(Segment{}),
		"kvm_cpuid_entry2":            unsafe.Sizeof(CPUIDEntry{}),
		"kvm_userspace_memory_region": unsafe.Sizeof(userspaceMemoryRegion{}),
		"kvm_enable_cap":              unsafe.Sizeof(enableCap{}),
	} {
		want := map[string]uintptr{"kvm_regs": 144, "kvm_sregs": 312, "kvm_segment": 24, "kvm_cpuid_entry2": 40,
			"kvm_userspace_memory_region": 32, "kvm_enable_cap": 104}[name]
		if got != want {
			t.Errorf("sizeof(%s) = %d, want %d", name, got, want)
		}
	}
	if kvmRun != 0xae80 || kvmSetUserMemoryRegion != 0x4020ae46 || kvmEnableCap != 0x4068aea3 {
		t.Errorf("ioctl numbers: KVM_RUN %#x, KVM_SET_USER_MEMORY_REGION %#x, KVM_ENABLE_CAP %#x", kvmRun, kvmSetUserMemoryRegion, kvmEnableCap)
	}
}

func TestOpenCreateAndKick(t *testing.T) {
	kvmtest.Require(t)
	sys, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	vm, err := sys.CreateVM()
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	cpu, err := vm.CreateVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	// A kicked vCPU returns from KVM_RUN at once, without running.
	cpu.Kick()
	if err := cpu.Run(); err != ErrInterrupted {
		t.Errorf("Run after Kick: %v, want ErrInterrupted", err)
	}
}
