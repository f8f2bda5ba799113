package main

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// osDieBy are the dieBy signals only Linux has.
var osDieBy = []syscall.Signal{syscall.SIGPWR}

// raiseDefault ends the process by sig: restore the default action (the
// kernel's struct sigaction all zero is SIG_DFL, no flags, empty mask,
// whatever its layout), unblock it and send it to this thread. These are
// system calls the Go runtime itself makes.
func raiseDefault(sig syscall.Signal) {
	runtime.LockOSThread()
	var dfl [4]uint64
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	set := uint64(1) << (uint(sig) - 1)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}
