package kvm

// The x86_64 debug layouts are plain data like x86types.go, defined on
// every architecture so the gdb stub and core writer build anywhere; the
// ioctls that use them exist only on amd64 hosts (debug_amd64.go).

// FPU is struct kvm_fpu (x86_64): the x87 stack, its control words and
// the SSE registers, as KVM_GET_FPU/KVM_SET_FPU move them.
type FPU struct {
	FPR        [8][16]byte // ST0-ST7, 10 bytes used of each
	FCW        uint16
	FSW        uint16
	FTWX       uint8 // abridged tag word, one bit per register
	_          uint8
	LastOpcode uint16
	LastIP     uint64
	LastDP     uint64
	XMM        [16][16]byte
	MXCSR      uint32
	_          uint32
}

// DebugRegs is struct kvm_debugregs: the guest's own DR0-DR3, DR6, DR7.
type DebugRegs struct {
	DB    [4]uint64
	DR6   uint64
	DR7   uint64
	Flags uint64
	_     [9]uint64
}

// GuestDebug is struct kvm_guest_debug on x86_64: what the host debugger
// (not the guest) wants trapped. DebugReg holds DR0-DR3 at 0-3 and DR7 at 7.
type GuestDebug struct {
	Control  uint32
	_        uint32
	DebugReg [8]uint64
}

// KVM_GUESTDBG_* control bits.
const (
	GuestDebugEnable     = 1 << 0
	GuestDebugSingleStep = 1 << 1
	GuestDebugUseSWBP    = 1 << 16
	GuestDebugUseHWBP    = 1 << 17
)

// DebugExit is kvm_run.debug.arch (x86_64) after a KVM_EXIT_DEBUG:
// the exception (1 for #DB, 3 for #BP), the guest's RIP, and the DR6 and
// DR7 that tell which debug register fired.
type DebugExit struct {
	Exception uint32
	PC        uint64
	DR6, DR7  uint64
}
