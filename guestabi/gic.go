package guestabi

// Where an aarch64 guest finds the in-kernel GICv3 the monitor creates
// when the unikernel asks for RequestIRQChip and BootInfo.HostFeatures
// has FeatureIRQChip: inside the MMIO window the hvt page tables map as
// device memory, clear of the hypercall and ring-kick addresses, at
// QEMU virt's offsets. The guest's timer interrupt is the virtual timer's
// PPI, INTID 27.
const (
	GICDistBase   = MMIOBase + 0x0800_0000 // 64 KiB distributor
	GICRedistBase = MMIOBase + 0x080a_0000 // 128 KiB redistributor of vCPU 0
	GICTimerINTID = 27
)
