//go:build linux && arm64

package bindings

import "unsafe"

// Traps on arm64: what the EL1 vector saved, decoded.

// Exception classes (ESR_EL1.EC) of the program's synchronous traps.
const (
	ecSVC64        = 0x15
	ecInstAbortEL0 = 0x20
	ecDataAbortEL0 = 0x24
)

// ktrap is the kernel: kentry calls it for every trap, and it never
// returns (it ends by resuming a program thread or halting).
func ktrap() {
	f, t := enterTrap()
	switch ec := f.ESR >> 26 & 0x3f; {
	case f.Slot == 9:
		timerTick(f, t)
	case f.Slot != 8:
		fatalTrap(f, "exception")
	case ec == ecSVC64:
		syscall(f, t)
	case ec == ecInstAbortEL0 || ec == ecDataAbortEL0:
		// Fault status 0b0001LL is a translation fault (no page); 0b0011LL
		// a permission fault.
		fsc := f.ESR & 0x3f
		switch {
		case fsc>>2 == 1:
			if !pageFault(uintptr(f.FAR), false) {
				fatalTrap(f, "page fault")
			}
		case fsc>>2 == 3:
			if !pageFault(uintptr(f.FAR), true) {
				fatalTrap(f, "page fault")
			}
		default:
			fatalTrap(f, "abort")
		}
	default:
		fatalTrap(f, "exception")
	}
	resume()
}

// fatalTrap prints one report of an exception the program cannot
// survive (ESR, PC, FAR, SP and the return addresses found by following
// the frame pointers, which `go tool addr2line` symbolizes) and halts
// with status 255.
func fatalTrap(f *frame, what string) {
	n := 0
	add := func(s string) { n += copy(msg[n:], s) }
	addHex := func(v uint64) { n += hex(msg[n:], v) }
	add("\nunimon: fatal ")
	add(what)
	add(": esr=")
	addHex(f.ESR)
	add("\n  pc=")
	addHex(f.PC)
	add(" far=")
	addHex(f.FAR)
	add(" sp=")
	addHex(f.SP)
	add(" lr=")
	addHex(f.X[30])
	add("\n  call stack (frame pointers; symbolize with go tool addr2line):\n  ")
	addHex(f.PC)
	add("\n  ")
	addHex(f.X[30])
	add("\n")
	n = callStack(n, uintptr(f.X[29]))
	putsPhys(uintptr(unsafe.Pointer(&msg)), uintptr(n))
	halt(255)
}
