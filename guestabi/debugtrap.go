package guestabi

import "encoding/binary"

// Unimon's debug trap, for hosts where a unikernel's user-mode (CPL3)
// #DB and #BP reach the guest's own IDT instead of the monitor (the
// nested PVM flavour of KVM). A unikernel whose boot info has
// FeatureDebugTrap (set only when a debugger is attached, unimon --gdb)
// hands such a trap to the monitor by writing, with `outl`, the
// guest-physical address of a DebugFrame to DebugTrapPort; the debugger
// shows and changes the program's registers in the frame, and the
// unikernel resumes the program from it (TF set in its RFLAGS: one step).
// Without FeatureDebugTrap the port is invalid, as on upstream.
const (
	// FeatureDebugTrap is set in BootInfo.HostFeatures when the monitor
	// has a debugger that takes DebugTrapPort.
	FeatureDebugTrap = 1 << 17
	// DebugTrapPort is the x86_64 port of the debug trap.
	DebugTrapPort = 0x5ff
	// DebugFrameSize is the size of a DebugFrame in guest memory.
	DebugFrameSize = 192
)

// DebugFrame is the register frame of a trapped user-mode program, as
// the Go bindings' trap entry lays it out: the FS base (unused, 0), CR2,
// R15 down to RAX, the vector and error code, then what the CPU saved:
// RIP, CS, RFLAGS, RSP, SS.
type DebugFrame struct {
	FSBase, CR2                                                             uint64
	R15, R14, R13, R12, R11, R10, R9, R8, RBP, RDI, RSI, RDX, RCX, RBX, RAX uint64
	Vector, Err, RIP, CS, RFLAGS, RSP, SS                                   uint64
}

func (f *DebugFrame) fields() []*uint64 {
	return []*uint64{&f.FSBase, &f.CR2, &f.R15, &f.R14, &f.R13, &f.R12, &f.R11, &f.R10, &f.R9, &f.R8,
		&f.RBP, &f.RDI, &f.RSI, &f.RDX, &f.RCX, &f.RBX, &f.RAX,
		&f.Vector, &f.Err, &f.RIP, &f.CS, &f.RFLAGS, &f.RSP, &f.SS}
}

// Decode reads f from b, which holds at least DebugFrameSize bytes.
func (f *DebugFrame) Decode(b []byte) {
	for i, p := range f.fields() {
		*p = binary.LittleEndian.Uint64(b[8*i:])
	}
}

// Encode writes f into b, which holds at least DebugFrameSize bytes.
func (f *DebugFrame) Encode(b []byte) {
	for i, p := range f.fields() {
		binary.LittleEndian.PutUint64(b[8*i:], *p)
	}
}

// A HALT cookie after a fatal trap starts with upstream's struct
// x86_trap_regs (cr2, error code, rip, cs, rflags, rsp, ss: TrapRegsSize
// bytes), which every Solo5 monitor reads. Unimon's bindings add, right
// after it, FrameCookieMagic and the whole DebugFrame, so that a core
// file has every register of the faulting instruction; monitors that do
// not know the extension read only the first part.
const (
	TrapRegsSize     = 7 * 8
	FrameCookieMagic = "UNIMONFR"
	// FrameCookieSize is the whole extended cookie.
	FrameCookieSize = TrapRegsSize + len(FrameCookieMagic) + DebugFrameSize
)

// DecodeFrameCookie returns the DebugFrame of an extended cookie; ok is
// false for a cookie without one (upstream's, or none).
func DecodeFrameCookie(b []byte) (f DebugFrame, ok bool) {
	if len(b) < FrameCookieSize || string(b[TrapRegsSize:TrapRegsSize+len(FrameCookieMagic)]) != FrameCookieMagic {
		return f, false
	}
	f.Decode(b[TrapRegsSize+len(FrameCookieMagic):])
	return f, true
}
