//go:build linux && amd64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// The debug frame is the trap frame itself: guestabi.DebugFrame names the
// same layout for the monitor (checked by TestDebugFrameLayout).
const _ = uint(unsafe.Sizeof(frame{}) - guestabi.DebugFrameSize) // frame is not smaller
const _ = uint(guestabi.DebugFrameSize - unsafe.Sizeof(frame{})) // nor larger

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
