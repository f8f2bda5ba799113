//go:build amd64 || arm64

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The SIGSYS handler runs on a signal stack outside Go and can only copy
// bytes: it builds its line on the stack from these, set before the
// filter is installed, and the native system call table (zsysnum.go),
// which the linker lays out, so that no line is prepared per call:
//
//	PROG: sandbox: system call NAME (NUMBER) is not allowed after LockDown (seccomp); exiting
var (
	// sigsysHead is "PROG: sandbox: system call " (PROG cut to fit).
	sigsysHead    [sigsysHeadMax]byte
	sigsysHeadLen uintptr
	sigsysUnknown = "unknown" // NAME of a number no call has
	sigsysTail    = ") is not allowed after LockDown (seccomp); exiting\n"
)

const (
	sigsysHeadMax = 128
	// sigsysBuf is the handler's buffer on the stack: the head, the
	// longest name (23 bytes), " (", 10 digits and the tail fit
	// (TestSIGSYSMessage checks).
	sigsysBuf = 256
)

// sigsysHandler is the SIGSYS handler (sigsys_GOARCH.s): it writes the
// line for info.si_syscall to stderr in one write and exits the process
// with status 1. Go's own handler would print a goroutine dump instead
// of naming the call.
func sigsysHandler()

// sigsysHandlerAddr is sigsysHandler's entry point, for rt_sigaction.
func sigsysHandlerAddr() uintptr

// Flags of struct sigaction (asm-generic/signal-defs.h; x86's and
// arm64's signal.h for SA_RESTORER).
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)

// kernelSigaction is struct sigaction as the amd64 and arm64 kernels
// read it.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// installSIGSYS sets the head of the handler's line and installs the
// handler for the whole process.
func installSIGSYS() error {
	const rest = ": sandbox: system call "
	prog := filepath.Base(os.Args[0])
	prog = prog[:min(len(prog), sigsysHeadMax-len(rest))]
	sigsysHeadLen = uintptr(copy(sigsysHead[copy(sigsysHead[:], prog):], rest) + len(prog))
	sa := kernelSigaction{
		handler: sigsysHandlerAddr(),
		// SA_ONSTACK: the handler runs on the thread's signal stack, which
		// Go gives every thread, never on a small goroutine stack. The
		// amd64 kernel insists on a restorer; it is never used, since the
		// handler does not return.
		flags:    saSiginfo | saOnstack | saRestorer,
		restorer: sigsysHandlerAddr(),
		mask:     ^uint64(0),
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGSYS), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	if errno != 0 {
		return fmt.Errorf("sandbox: installing the SIGSYS handler: %w", errno)
	}
	return nil
}
