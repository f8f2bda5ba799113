//go:build linux && arm64

package bindings

import "github.com/unimon/unimon/guestabi"

// The timer on arm64: when the monitor created an in-kernel GICv3
// (host_features bit guestabi.FeatureIRQChip), the virtual timer
// interrupts the program tickHz times a second through it (INTID 27).
// EL1 acknowledges and rearms it and enters the kernel like any trap
// (slot 9), which switches threads once the running one has used its
// time slice. Without a GIC (upstream solo5-hvt) the kernel switches at
// system calls only.
const tickHz = 100

// timerOn is set when the timer preempts the program.
var timerOn bool

func initTimer() {
	if bootInfo.HostFeatures&guestabi.FeatureIRQChip == 0 || freq == 0 || noTimer {
		return
	}
	*u64at(tickCount) = freq / tickHz
	ktimerStart()
	timerOn = true
}
