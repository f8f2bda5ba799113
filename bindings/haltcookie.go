//go:build linux && amd64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// trapCookie is upstream Solo5's struct x86_trap_regs (cr2, error code,
// rip, cs, rflags, rsp, ss): what its trap handler passes as HALT cookie,
// so that a monitor's core file (unimon --dumpcore, solo5-hvt-debug)
// shows the faulting instruction and stack rather than the halt.
var trapCookie [7]uint64

// haltTrap halts with status after the fatal trap whose registers are in
// f.
func haltTrap(status int, f *frame) {
	trapCookie = [7]uint64{f.CR2, f.Err, f.RIP, f.CS, f.RFLAGS, f.RSP, f.SS}
	h := guestabi.Halt{ExitStatus: int32(status), Cookie: uint64(uintptr(unsafe.Pointer(&trapCookie)))}
	h.Encode(hcArg[:])
	for {
		hypercall(guestabi.HypercallHalt)
	}
}
