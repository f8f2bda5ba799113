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
