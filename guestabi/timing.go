package guestabi

// The timing leaf, unimon's extension for x86_64 guests granted
// FeatureIRQChip: the monitor publishes its guest's clock rates in the
// hypervisor timing leaf that VMware defined and QEMU, FreeBSD and XNU
// also use. CPUIDTimingLeaf's EAX is the TSC's rate and EBX the local
// APIC timer's (before its divider), both in kHz, and the hypervisor base
// leaf's EAX (the highest hypervisor leaf) is at least CPUIDTimingLeaf.
// A guest arms its APIC timer from EBX instead of first measuring the
// timer against the TSC at every boot (issue 12; README, Performance).
// A guest must check the base leaf: upstream solo5-hvt, and unimon
// without an irqchip, publish no timing leaf.
const (
	// CPUIDHypervisorBase is the hypervisor base leaf (KVM: "KVMKVMKVM").
	CPUIDHypervisorBase = 0x4000_0000
	// CPUIDTimingLeaf is the hypervisor timing leaf.
	CPUIDTimingLeaf = 0x4000_0010
)
