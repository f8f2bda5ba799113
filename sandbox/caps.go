package sandbox

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropCapabilities empties every capability set of every thread. The
// sets are per thread, so each step runs on all of them
// (syscall.AllThreadsSyscall). A cgo binary cannot do that (Go does not
// know the threads C code made): there the calling thread drops its
// capabilities and the others keep theirs, which the allowlist leaves
// them no call to use (no open, no capset or setuid, clone without
// namespaces, tgkill only within the process).
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
	// The bounding set limits what an exec could regain; dropping from it
	// needs CAP_SETPCAP, so an unprivileged process (whose set nothing can
	// use without an exec, which the filter forbids anyway) skips it.
	last, err := lastCap()
	if err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		err := all(fmt.Sprintf("dropping capability %d from the bounding set", c), unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if errors.Is(err, syscall.EPERM) {
			break
		}
		if err != nil {
			return err
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
