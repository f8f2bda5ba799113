//go:build linux

package goguests

// faultReport is what the report of the guest's nil dereference says on
// amd64, and pcName names the program counter in it.
var faultReport = []string{`unimon: fatal page fault: vector=14 \(#PF\)`, `rip=0x[0-9a-f]{16} cr2=0x0000000000000000 rsp=0x`}

const pcName = "rip"
