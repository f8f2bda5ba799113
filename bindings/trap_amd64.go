//go:build linux && amd64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// Traps on amd64: the vectors, the IDT and the crash report.

// ktrap is the kernel: called by kentry for every trap, it never returns
// (it ends by resuming a program thread or halting).
func ktrap() {
	if !booted {
		kinit()
		booted = true
		resume()
	}
	f := curFrame()
	t := &threads[cur]
	stats.traps++
	switch f.Vector {
	case 6:
		if isSyscallSite(uintptr(f.RIP)) {
			syscall(f, t)
			break
		}
		fatalTrap(f, "invalid opcode")
	case 14:
		// Error code bit 0: a protection violation, not a missing page.
		if !pageFault(uintptr(f.CR2), f.Err&1 != 0) {
			fatalTrap(f, "page fault")
		}
	case 1, 3:
		if !debugTrap(f) {
			fatalTrap(f, "exception")
		}
	case 32:
		stats.ticks++
		if now()-t.since >= timeSlice {
			schedule(f)
		}
	default:
		fatalTrap(f, "exception")
	}
	resume()
}

// initIDT points vectors 0-32 and 255 at their stubs (interrupt gates,
// kernel code segment, DPL 0: exceptions ignore the DPL; the two
// interrupt vectors use IST1, see vec32).
func initIDT() {
	var addrs [34]uintptr
	stubAddrs(&addrs)
	idt := (*[256][2]uint64)(ptr(idtBase))
	for i, a := range addrs {
		v := i
		if i == 33 {
			v = 255
		}
		idt[v][0] = uint64(a&0xffff) | kernelCS<<16 | 0x8e<<40 | uint64(a>>16&0xffff)<<48
		if v == 32 || v == 255 {
			idt[v][0] |= 1 << 32 // IST1: interrupts have their own stack
		}
		idt[v][1] = uint64(a >> 32)
	}
}

// excNames holds the mnemonics of vectors 0-31, three characters each
// (a string constant, so kernel data stays free of Go pointers).
const excNames = "#DE#DBNMI#BP#OF#BR#UD#NM#DF   #TS#NP#SS#GP#PF   #MF#AC#MC#XM#VE#CP                  #HV#VC#SX   "

// fatalTrap prints one report of an exception the program cannot survive
// (vector, error code, RIP, CR2, RSP and the return addresses found by
// following the frame pointers, which `go tool addr2line` symbolizes)
// and halts with status 255.
func fatalTrap(f *frame, what string) {
	n := 0
	add := func(s string) { n += copy(msg[n:], s) }
	addHex := func(v uint64) { n += hex(msg[n:], v) }
	add("\nunimon: fatal ")
	add(what)
	add(": vector=")
	n += utoa(msg[n:], f.Vector)
	if f.Vector < 32 && excNames[3*f.Vector] != ' ' {
		add(" (")
		add(excNames[3*f.Vector : 3*f.Vector+3])
		add(")")
	}
	add(" error=")
	addHex(f.Err)
	add("\n  rip=")
	addHex(f.RIP)
	add(" cr2=")
	addHex(f.CR2)
	add(" rsp=")
	addHex(f.RSP)
	add(" rbp=")
	addHex(f.RBP)
	add("\n  call stack (frame pointers; symbolize with go tool addr2line):\n  ")
	addHex(f.RIP)
	add("\n")
	bp := uintptr(f.RBP)
	for i := 0; i < 32 && bp != 0 && bp&7 == 0; i++ {
		var fr [2]uint64
		if findVMA(bp) < 0 && (bp >= memSize || bp < pageSize) {
			break
		}
		if !copyIn(unsafe.Pointer(&fr), bp, 16) || fr[1] == 0 {
			break
		}
		add("  ")
		addHex(fr[1])
		add("\n")
		if uintptr(fr[0]) <= bp {
			break
		}
		bp = uintptr(fr[0])
	}
	putsPhys(uintptr(unsafe.Pointer(&msg)), uintptr(n))
	haltTrap(255, f)
}

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
	haltCookie(status, uintptr(unsafe.Pointer(&trapCookie)))
}

// debugTrap hands a #DB (single step) or #BP (int3) of the program to the
// monitor's debugger, which reads and may change the frame, and reports
// true; without a debugger (no guestabi.FeatureDebugTrap) it reports
// false and the trap stays fatal. Hosts whose KVM intercepts these traps
// itself never get here.
func debugTrap(f *frame) bool {
	if bootInfo.HostFeatures&guestabi.FeatureDebugTrap == 0 || f.CS != userCS {
		return false
	}
	kcall(kHypercall, guestabi.DebugTrapPort, frameAddr)
	return true
}
