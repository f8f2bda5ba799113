//go:build linux && amd64

package bindings

import "unsafe"

var msg [4096]byte

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

// showStats and noTimer are set by --unimon:stats and --unimon:notimer.
var showStats, noTimer bool

func printStats() {
	n := 0
	add := func(s string, v uint64) {
		n += copy(msg[n:], s)
		n += utoa(msg[n:], v)
	}
	add("unimon bindings: traps=", stats.traps)
	add(" syscalls=", stats.syscalls)
	add(" faults=", stats.faults)
	add(" hypercalls=", stats.hypercalls)
	add(" polls=", stats.polls)
	add(" switches=", stats.switches)
	add(" ticks=", stats.ticks)
	add(" signals=", stats.delivered)
	add(" timer_hz=", uint64(tickHz)*b2u(timerOn))
	add(" pages_touched=", framesPeak)
	add(" net_dropped=", stats.netDropped)
	add(" uptime_us=", uint64(now()/1000))
	n += copy(msg[n:], "\n")
	putsPhys(uintptr(unsafe.Pointer(&msg)), uintptr(n))
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
