//go:build linux && amd64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// trapCookie is the HALT cookie after a fatal trap: upstream Solo5's
// struct x86_trap_regs (cr2, error code, rip, cs, rflags, rsp, ss), which
// any monitor's core file (unimon --dumpcore, solo5-hvt-debug) uses for
// the faulting instruction and stack, then unimon's extension: the magic
// and the whole frame, for every other register (guestabi.FrameCookieMagic).
var trapCookie struct {
	regs  [7]uint64
	magic [len(guestabi.FrameCookieMagic)]byte
	frame frame
}

// haltTrap halts with status after the fatal trap whose registers are in
// f. It runs on the trap path: plain copies, no allocation.
func haltTrap(status int, f *frame) {
	trapCookie.regs = [7]uint64{f.CR2, f.Err, f.RIP, f.CS, f.RFLAGS, f.RSP, f.SS}
	copy(trapCookie.magic[:], guestabi.FrameCookieMagic)
	trapCookie.frame = *f
	h := guestabi.Halt{ExitStatus: int32(status), Cookie: uint64(uintptr(unsafe.Pointer(&trapCookie)))}
	h.Encode(hcArg[:])
	for {
		hypercall(guestabi.HypercallHalt)
	}
}
