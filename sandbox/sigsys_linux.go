//go:build amd64 || arm64

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// message is what the SIGSYS handler writes for one system call number.
type message struct {
	p *byte
	n uintptr
}

// numMessages covers every amd64 and arm64 system call number; the
// handler reports larger ones with the last entry.
const numMessages = 512

// sigsysMessages[nr] is the line the handler writes for a denied call
// nr. It is built before the filter is installed, because the handler
// runs on a signal stack outside Go and can only copy bytes out.
var sigsysMessages [numMessages]message

// sigsysHandler is the SIGSYS handler (sigsys_GOARCH.s): it writes
// sigsysMessages[info.si_syscall] to stderr and exits the process with
// status 1. Go's own handler would print a goroutine dump instead of
// naming the call.
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

// installSIGSYS fills the messages and installs the handler for the
// whole process.
func installSIGSYS() error {
	prog := filepath.Base(os.Args[0])
	// Every line goes into one buffer, appended without fmt: this runs
	// on each start of the CLI, right before its guest does.
	buf := make([]byte, 0, numMessages*(len(prog)+96))
	var ends [numMessages]int
	for nr := range sigsysMessages {
		buf = append(buf, prog...)
		if nr == numMessages-1 {
			buf = append(buf, ": sandbox: a system call numbered "...)
			buf = strconv.AppendInt(buf, int64(nr), 10)
			buf = append(buf, " or more is not allowed after LockDown (seccomp); exiting\n"...)
		} else {
			buf = append(buf, ": sandbox: system call "...)
			buf = append(buf, native.name(nr)...)
			buf = append(buf, " ("...)
			buf = strconv.AppendInt(buf, int64(nr), 10)
			buf = append(buf, ") is not allowed after LockDown (seccomp); exiting\n"...)
		}
		ends[nr] = len(buf)
	}
	start := 0
	for nr, end := range ends {
		sigsysMessages[nr] = message{&buf[start], uintptr(end - start)}
		start = end
	}
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
