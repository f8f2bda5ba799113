//go:build linux && amd64

package bindings

import "github.com/unimon/unimon/guestabi"

// The timer: when the monitor created an in-kernel irqchip (host_features
// bit guestabi.FeatureIRQChip) and publishes the timer's rate in the
// timing leaf (guestabi.CPUIDTimingLeaf), the local APIC in x2APIC mode
// ticks at tickHz on vector 32. A tick is a trap like any other: vec32
// acknowledges it, and ktrap switches threads once the running one has
// used its time slice. Without both (upstream solo5-hvt, or a unimon
// older than the timing leaf) the kernel switches only at system calls,
// rather than first measuring the timer against the TSC: that took a
// quarter of a millisecond of polling, and MSR exits, at every boot.

const (
	tickHz = 100

	msrAPICBase   = 0x1b
	msrX2SVR      = 0x80f
	msrX2LVTTimer = 0x832
	msrX2InitCnt  = 0x838
	msrX2DivConf  = 0x83e
	timerVector   = 32
	spuriousVec   = 255

	leaf1ECXX2APIC     = 1 << 21
	leaf1ECXHypervisor = 1 << 31
)

// timerOn is set when the timer preempts the program.
var timerOn bool

func initTimer() {
	if bootInfo.HostFeatures&guestabi.FeatureIRQChip == 0 || noTimer {
		return
	}
	_, _, c, _ := cpuid(1, 0)
	if c&leaf1ECXX2APIC == 0 || c&leaf1ECXHypervisor == 0 {
		return
	}
	if top, _, _, _ := cpuid(guestabi.CPUIDHypervisorBase, 0); top < guestabi.CPUIDTimingLeaf {
		return
	}
	_, khz, _, _ := cpuid(guestabi.CPUIDTimingLeaf, 0)
	count := uint64(khz) * 1000 / tickHz
	if count == 0 || count > 0xffffffff {
		return
	}
	base := kcall(kRdmsr, 0, msrAPICBase)
	kcall(kWrmsr, base|1<<11|1<<10, msrAPICBase) // enable, x2APIC mode
	kcall(kWrmsr, 0x100|spuriousVec, msrX2SVR)
	kcall(kWrmsr, 0xb, msrX2DivConf)                // divide by 1
	kcall(kWrmsr, 1<<17|timerVector, msrX2LVTTimer) // periodic
	kcall(kWrmsr, uintptr(count), msrX2InitCnt)
	timerOn = true
}
