//go:build linux && amd64

package bindings

import "github.com/unimon/unimon/guestabi"

// The timer: when the monitor created an in-kernel irqchip (host_features
// bit guestabi.FeatureIRQChip), the local APIC in x2APIC mode ticks at
// tickHz on vector 32. A tick is a trap like any other: vec32
// acknowledges it, and ktrap switches threads once the running one has
// used its time slice. Without an irqchip (upstream solo5-hvt) the kernel
// switches only at system calls.

const (
	tickHz = 100

	msrAPICBase   = 0x1b
	msrX2SVR      = 0x80f
	msrX2LVTTimer = 0x832
	msrX2InitCnt  = 0x838
	msrX2CurCnt   = 0x839
	msrX2DivConf  = 0x83e
	timerVector   = 32
	spuriousVec   = 255
)

// timerOn is set when the timer preempts the program.
var (
	timerOn bool
	apicHz  uint64
)

func initTimer() {
	if bootInfo.HostFeatures&guestabi.FeatureIRQChip == 0 || freq == 0 || noTimer {
		return
	}
	if _, _, c, _ := cpuid(1, 0); c&(1<<21) == 0 {
		return // no x2APIC
	}
	base := kcall(kRdmsr, 0, msrAPICBase)
	kcall(kWrmsr, base|1<<11|1<<10, msrAPICBase) // enable, x2APIC mode
	kcall(kWrmsr, 0x100|spuriousVec, msrX2SVR)
	kcall(kWrmsr, 0xb, msrX2DivConf) // divide by 1
	// Measure the APIC timer against the TSC: a masked one-shot count
	// over a quarter of a millisecond (a kcall costs a few µs, so the
	// tick rate comes out within a few percent).
	kcall(kWrmsr, 1<<16|timerVector, msrX2LVTTimer)
	kcall(kWrmsr, 0xffffffff, msrX2InitCnt)
	t0 := rdtsc()
	for rdtsc()-t0 < freq/4000 {
	}
	left := uint64(kcall(kRdmsr, 0, msrX2CurCnt))
	t1 := rdtsc()
	if left >= 0xffffffff || t1 <= t0 {
		return
	}
	apicHz = (0xffffffff - left) * (freq / 1000) / ((t1 - t0) / 1000)
	count := apicHz / tickHz
	if count == 0 || count > 0xffffffff {
		return
	}
	kcall(kWrmsr, 1<<17|timerVector, msrX2LVTTimer) // periodic
	kcall(kWrmsr, uintptr(count), msrX2InitCnt)
	timerOn = true
}
