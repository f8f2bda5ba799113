//go:build linux

package bindings

import "unsafe"

// msg is where reports are formatted before PUTS.
var msg [4096]byte

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

// callStack formats into msg[n:] the return addresses found by following
// the frame pointers from fp (Go's frames on amd64 and arm64 both keep
// the caller's frame pointer at fp and the return address after it),
// one per line, at most 32, and returns the new length. A crash report's
// last lines.
func callStack(n int, fp uintptr) int {
	for i := 0; i < 32 && fp != 0 && fp&7 == 0; i++ {
		var fr [2]uint64
		if findVMA(fp) < 0 && (fp >= memSize || fp < pageSize) {
			break
		}
		if !copyIn(unsafe.Pointer(&fr), fp, 16) || fr[1] == 0 {
			break
		}
		n += copy(msg[n:], "  ")
		n += hex(msg[n:], fr[1])
		n += copy(msg[n:], "\n")
		if uintptr(fr[0]) <= fp {
			break
		}
		fp = uintptr(fr[0])
	}
	return n
}
