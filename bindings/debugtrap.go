//go:build linux && amd64

package bindings

import "github.com/unimon/unimon/guestabi"

// debugTrap hands a #DB (single step) or #BP (int3) of the program to the
// monitor's debugger, which reads and may change the frame, and reports
// true; without a debugger (no guestabi.FeatureDebugTrap) it reports
// false and the trap stays fatal. Hosts whose KVM intercepts these traps
// itself never get here.
func debugTrap(f *frame) bool {
	if bootInfo.HostFeatures&guestabi.FeatureDebugTrap == 0 || f.CS != userCS {
		return false
	}
	kcall(kHypercall, guestabi.DebugTrapPort, frameAddr)
	return true
}
