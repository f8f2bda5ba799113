//go:build linux && arm64

package bindings

// The arm64 port's boot stage. unimon build makes aarch64 unikernels
// (internal/gobuild) whose entry point is rt0 below; the arm64 kernel
// itself (EL1 vectors, the program at EL0, the architecture interface of
// cpu_noport.go) is not written yet, so rt0 says so through the hvt PUTS
// hypercall and ends the unikernel with HALT, status 1, rather than let
// the Go program start without a kernel.

// notPorted is the message rt0 prints (a string variable, so the linker
// lays out its header statically: rt0 runs before the runtime exists).
var notPorted = "unimon bindings: this unikernel booted on aarch64 (EL1, MMIO hypercalls), but the bindings' arm64 kernel is not written yet: the Go program cannot run\n"

// rt0 is the ELF entry point (rt0_arm64.s).
func rt0()
