package main

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// osDefaultAction are the defaultAction signals only Linux has.
var osDefaultAction = []syscall.Signal{syscall.SIGPWR}

// restoreDefault gives sig its default action (the kernel's struct
// sigaction all zero is SIG_DFL, no flags, empty mask, whatever its
// layout). The Go runtime has no call for it: signal.Reset gives a
// signal back to the runtime's own handler. This is a system call the
// runtime itself makes.
func restoreDefault(sig syscall.Signal) {
	var dfl [4]uint64
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
}

// raiseDefault ends the process by sig: restore the default action,
// unblock it and send it to this thread. These are system calls the Go
// runtime itself makes.
func raiseDefault(sig syscall.Signal) {
	runtime.LockOSThread()
	restoreDefault(sig)
	set := uint64(1) << (uint(sig) - 1)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}
