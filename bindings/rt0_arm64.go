//go:build linux && arm64

package bindings

// The arm64 port's boot stage. unimon build makes aarch64 unikernels
// (internal/gobuild) whose entry point is rt0 (rt0_arm64.s). The arm64
// kernel itself (the architecture interface of cpu_noport.go: the
// register frame, system calls, page faults, the timer, signal frames)
// is not written yet. What rt0 does is the part of the design that is:
// it installs the EL1 vectors, replaces the monitor's EL1-only page
// tables with its own (the program's text executable at EL0 and EL1,
// the rest of RAM read-write at EL0 and never executable at EL1), drops
// to EL0 and makes a system call there as Go's runtime does (SVC #0).
// The vector reports that the SVC arrived at EL1 as ESR_EL1.EC 0x15, so
// the Go program's own system calls need no rewriting on arm64, and the
// unikernel ends with status 1 rather than start the Go program without
// a kernel.
//
// The messages are string variables, so the linker lays out their
// headers statically: rt0 runs before the Go runtime exists.
var (
	svcTrapped     = "unimon bindings: arm64: this unikernel booted at EL1, ran at EL0 on its own page tables, and an SVC from EL0 reached the EL1 vector (ESR_EL1.EC=0x15): system calls trap without rewriting; but the bindings' arm64 kernel is not written yet, so the Go program cannot run\n"
	unexpectedTrap = "unimon bindings: arm64: unexpected exception (vector slot, ESR_EL1, ELR_EL1, FAR_EL1): "
)

func rt0()
func el0probe()
func vectors()
func exception()
