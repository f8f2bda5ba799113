package sandbox

// runIoctls are the ioctl requests the vCPU run loop issues: KVM_RUN,
// and KVM_GET_ONE_REG for the registers a guest-fault message names.
// Anything else (creating VMs and vCPUs, setting registers or memory
// slots, tap configuration) is setup, done before LockDown.
var runIoctls = []uint64{
	0xae80,     // KVM_RUN
	0x4010aeab, // KVM_GET_ONE_REG
}
