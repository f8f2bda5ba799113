package sandbox

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropCapabilities empties the capability sets of every thread. The sets
// are per thread, so the effective, permitted and inheritable sets are
// emptied on all of them in one stop-the-world round
// (syscall.AllThreadsSyscall). That also empties the ambient set: capset
// keeps only the ambient capabilities still both permitted and
// inheritable (cap_capset in security/commoncap.c), so a separate
// PR_CAP_AMBIENT_CLEAR_ALL round would find nothing left to clear. The
// bounding set only limits what an exec could regain, and the filter
// forbids exec on every thread (with no_new_privs): it is emptied on the
// calling thread only, one plain call per capability instead of a round
// each (41 rounds were 2.5 to over 10 ms of every CLI boot). A cgo binary
// cannot reach every thread (Go does not know the threads C code made):
// there the calling thread drops its capabilities and the others keep
// theirs, which the allowlist leaves them no call to use (no open, no
// capset or setuid, clone without namespaces, tgkill only within the
// process).
func dropCapabilities() error {
	// Dropping from the bounding set needs CAP_SETPCAP, so an unprivileged
	// process (whose set nothing can use without an exec) stops at the
	// first EPERM; EINVAL is the first number past the kernel's last
	// capability.
	for c := uintptr(0); c < 64; c++ {
		_, _, errno := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
		if errno == syscall.EPERM || errno == syscall.EINVAL {
			break
		}
		if errno != 0 {
			return fmt.Errorf("sandbox: dropping capability %d from the bounding set: %w", c, errno)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // all zero: no capabilities at all
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno == syscall.ENOTSUP {
		_, _, errno = syscall.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	}
	if errno != 0 {
		return fmt.Errorf("sandbox: dropping every capability: %w", errno)
	}
	return nil
}
