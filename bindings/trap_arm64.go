//go:build linux && arm64

package bindings

import "unsafe"

// Traps on arm64: what the EL1 vector saved, decoded.

// Exception classes (ESR_EL1.EC) of the program's synchronous traps.
const (
	ecUnknown      = 0x00 // an undefined instruction (UDF, ...)
	ecIllegalState = 0x0e
	ecSVC64        = 0x15
	ecInstAbortEL0 = 0x20
	ecPCAlign      = 0x22
	ecDataAbortEL0 = 0x24
	ecSPAlign      = 0x26
	ecBRK64        = 0x3c
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
		// a permission fault: pageFault may serve those.
		switch fsc := f.ESR & 0x3f; {
		case fsc>>2 == 1 || fsc>>2 == 3:
			if !pageFault(uintptr(f.FAR), fsc>>2 == 3) {
				fault(f, t, "page fault")
			}
		default:
			fault(f, t, "abort")
		}
	case (ec == ecSysReg || ec == ecUnknown) && emulateMRS(f):
	default:
		fault(f, t, "exception")
	}
	resume()
}

// faultSignal is the signal Linux arm64 sends for the program's
// exception in f (arch/arm64/kernel/traps.c, mm/fault.c); false for
// those this kernel treats as fatal.
func faultSignal(f *frame) (sigInfo, bool) {
	switch f.ESR >> 26 & 0x3f {
	case ecInstAbortEL0, ecDataAbortEL0:
		switch fsc := f.ESR & 0x3f; {
		case fsc>>2 <= 3: // address size, translation, access flag, permission
			code := int32(_SEGV_MAPERR)
			if findVMA(uintptr(f.FAR)) >= 0 {
				code = _SEGV_ACCERR
			}
			return sigInfo{_SIGSEGV, code, f.FAR}, true
		case fsc == 0x21: // alignment
			return sigInfo{_SIGBUS, _BUS_ADRALN, f.FAR}, true
		}
	case ecUnknown, ecIllegalState, ecSysReg:
		return sigInfo{_SIGILL, _ILL_ILLOPC, f.PC}, true
	case ecPCAlign:
		return sigInfo{_SIGBUS, _BUS_ADRALN, f.PC}, true
	case ecSPAlign:
		return sigInfo{_SIGBUS, _BUS_ADRALN, f.SP}, true
	case ecBRK64:
		return sigInfo{_SIGTRAP, _TRAP_BRKPT, f.PC}, true
	}
	return sigInfo{}, false
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
