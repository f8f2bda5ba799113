//go:build linux

package goguests

import "time"

// The arm64 side of the Go guest tests. This file also puts the package
// in the ARM64 lane, which builds the guests for arm64 on the host
// (Images) and runs the tests on arm64 KVM.

// idleLimit is the CPU time an idle guest may cost over d: three
// quarters. A busy-waiting guest still costs all of it, but arm64 here
// only ever runs in the ARM64 lane, under qemu's emulation, where each of
// the idle runtime's few wake-ups (sysmon, the timer) costs hundreds of
// microseconds: a quarter was seen exceeded by an idle guest.
func idleLimit(d time.Duration) time.Duration { return d * 3 / 4 }
