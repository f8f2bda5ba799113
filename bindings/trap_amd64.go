//go:build linux && amd64

package bindings

import "unsafe"

// Traps on amd64: the vectors, the IDT and the crash report.

// ktrap is the kernel: called by kentry for every trap, it never returns
// (it ends by resuming a program thread or halting).
func ktrap() {
	f, t := enterTrap()
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
	case 32:
		timerTick(f, t)
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
	n = callStack(n, uintptr(f.RBP))
	putsPhys(uintptr(unsafe.Pointer(&msg)), uintptr(n))
	halt(255)
}
