package sandbox

// runIoctls are the ioctl requests the vCPU run loop issues: KVM_RUN,
// and KVM_GET_REGS and KVM_GET_SREGS for the registers a guest-fault
// message names. Anything else (creating VMs and vCPUs, setting
// registers or memory slots, tap configuration) is setup, done before
// LockDown.
var runIoctls = []uint64{
	0xae80,     // KVM_RUN
	0x8090ae81, // KVM_GET_REGS
	0x8138ae83, // KVM_GET_SREGS
}
