//go:build linux && arm64

package bindings

// The timer on arm64: not yet. The monitor offers an in-kernel GICv3
// (guestabi.FeatureIRQChip) whose virtual timer interrupt would preempt
// the program as the x2APIC timer does on amd64; until the vectors take
// IRQs, the kernel switches threads at system calls only, as on upstream
// solo5-hvt.
const tickHz = 100

var timerOn bool

func initTimer() {}
