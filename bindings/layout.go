//go:build linux && amd64

package bindings

import "github.com/unimon/unimon/guestabi"

// Fixed addresses of the bindings' private memory, identity mapped; the
// same numbers are in layout_amd64.h for the assembly.
const (
	idtBase    = 0x21000
	pml4Base   = 0x22000
	pdBase     = 0x24000
	pt0Base    = 0x28000
	kstackLo   = 0x51000
	guardPage  = 0x50000
	vdsoData   = 0x91000
	vdsoImage  = 0x92000
	vdsoMax    = 0x1000
	fxAreaAddr = 0x93000
	trampBase  = 0x94000 // see layout_amd64.h
	kentryPtr  = 0x94008
	trampUD2   = 0x94010
	trampTail  = 0x94020
	wantFS     = 0x94808
	curFS      = 0x94810
	ktlsFS     = 0x90108
	scratchTLS = 0x95f08 // thread 0's FS base until the runtime sets its own
	frameAddr  = 0x8FF40
	kernelCS   = 0x08
	userCS     = 0x23
	userDS     = 0x1b
	rflagsUser = 0x202 // IF set: the timer, when there is one, preempts the program
	pageSize   = 4096
)

// Requests to the CPL0 part (kcall op).
const (
	kHypercall = 2
	kFlush     = 3
	kWrmsr     = 5
	kRdmsr     = 6
)

// frame is the register frame kentry builds at frameAddr. FSBase is
// unused (the kernel tracks FS bases per thread). Its layout is
// guestabi.DebugFrame, which the monitor's debugger reads (debugtrap.go).
type frame = guestabi.DebugFrame
