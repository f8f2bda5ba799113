// Package bindings runs an ordinary Go program as a Solo5 hvt unikernel.
//
// A program imports it for its side effect and is built with `unimon
// build`:
//
//	import _ "github.com/unimon/unimon/bindings"
//
// The build makes this package's rt0 the ELF entry point, rewrites every
// SYSCALL instruction into UD2 and records their addresses (see
// internal/gobuild). At boot, rt0 (CPL0, Go assembly, no SSE) installs page
// tables, a GDT, a TSS and an IDT, then enters a small kernel written in Go
// that runs at CPL3 on its own stack with a fake g. That kernel builds a
// Linux process stack and starts the Go runtime at CPL3 as if Linux had
// exec'd it; every trap of the program (a UD2 at a recorded address is a
// system call, a page fault is demand paging) comes back to the kernel,
// which emulates the subset of Linux the Go runtime needs. See DESIGN in
// kernel.go.
//
// Options for the bindings come first on the unikernel's command line,
// after Solo5's own --solo5: ones: --unimon:stats prints trap, fault and
// signal counts at exit; --unimon:notimer runs cooperatively even when
// the monitor offers a timer (as on upstream solo5-hvt, which offers
// none).
//
// Devices: the Solo5 block and net devices in the unikernel's manifest
// are files at DevicePrefix+NAME ("/dev/solo5/NAME"). OpenBlock and
// OpenNet open them as *os.File; BlockInfo and NetInfo read their
// properties from the manifest:
//
//	disk, err := bindings.OpenBlock("storage") // ReadAt/WriteAt anywhere
//	nic, err := bindings.OpenNet("service0")   // a frame per Read/Write
//
// A Read of a net file with no frame waiting parks the goroutine in the
// Go runtime's netpoller; the bindings wake it when the monitor's POLL
// reports input (see dev.go).
//
// The package does nothing in an ordinary process: its code only runs when
// it is the entry point (and the device functions return ErrNotUnikernel).
package bindings
