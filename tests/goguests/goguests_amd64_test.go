//go:build linux

package goguests

import "time"

// faultReport is what the report of the guest's nil dereference says on
// amd64, and pcName names the program counter in it.
var faultReport = []string{`unimon: fatal page fault: vector=14 \(#PF\)`, `rip=0x[0-9a-f]{16} cr2=0x0000000000000000 rsp=0x`}

const pcName = "rip"

// idleLimit is the CPU time an idle guest may cost over d: a quarter (a
// busy-waiting guest costs all of it).
func idleLimit(d time.Duration) time.Duration { return d / 4 }
