package sandbox

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropCapabilities empties the capability sets of every thread. The sets
// are per thread, so the effective, permitted, inheritable and ambient
// sets are emptied on all of them (syscall.AllThreadsSyscall: one
// stop-the-world round per call, so two rounds). The bounding set only
// limits what an exec could regain, and the filter forbids exec on every
// thread (with no_new_privs): it is emptied on the calling thread only,
// which costs one plain call per capability instead of a round each (41
// rounds were 2.5 to over 10 ms of every CLI boot). A cgo binary cannot
// reach every thread (Go does not know the threads C code made): there
// the calling thread drops its capabilities and the others keep theirs,
// which the allowlist leaves them no call to use (no open, no capset or
// setuid, clone without namespaces, tgkill only within the process).
func dropCapabilities() error {
	allThreads := true
	all := func(what string, trap, a1, a2, a3 uintptr) error {
		var errno syscall.Errno
		if allThreads {
			_, _, errno = syscall.AllThreadsSyscall(trap, a1, a2, a3)
			if errno == syscall.ENOTSUP {
				allThreads = false
			}
		}
		if !allThreads {
			_, _, errno = syscall.RawSyscall(trap, a1, a2, a3)
		}
		if errno != 0 {
			return fmt.Errorf("sandbox: %s: %w", what, errno)
		}
		return nil
	}
	// Dropping from the bounding set needs CAP_SETPCAP, so an unprivileged
	// process (whose set nothing can use without an exec) skips it.
	last, err := lastCap()
	if err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		_, _, errno := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if errno == syscall.EPERM {
			break
		}
		if errno != 0 {
			return fmt.Errorf("sandbox: dropping capability %d from the bounding set: %w", c, errno)
		}
	}
	if err := all("clearing ambient capabilities", unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // all zero: no capabilities at all
	return all("dropping every capability", unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
}

// lastCap is the highest capability number the kernel knows.
func lastCap() (int, error) {
	for c := 63; c >= 0; c-- {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil {
			return c, nil
		}
	}
	return 0, errors.New("sandbox: PR_CAPBSET_READ knows no capability")
}
