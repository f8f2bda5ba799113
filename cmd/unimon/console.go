package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errStdoutClosed is checkStdout's verdict on a stdout that cannot be
// written at all.
var errStdoutClosed = errors.New("stdout is closed")

// checkStdout looks at stdout, where the guest's console goes, before the
// run: a stdout the guest could never write to is an error, one that
// discards everything a warning, so that console output is never lost
// without a word.
//
// A stdout closed with >&- never reaches unimon closed: the Go runtime
// opens /dev/null read-write in its place before main runs. Shells open
// /dev/null write-only for >/dev/null, so read-write /dev/null is
// reported (as a warning: a parent may also have passed it on purpose).
func checkStdout(f *os.File) (warning string, err error) {
	rc, err := f.SyscallConn()
	var cerr error
	if err == nil {
		err = rc.Control(func(fd uintptr) { warning, cerr = checkStdoutFD(int(fd)) })
	}
	if err != nil {
		return "", stdoutClosed(err)
	}
	return warning, cerr
}

func stdoutClosed(err error) error {
	return fmt.Errorf("%w (%v): the guest's console output has nowhere to go; redirect it, e.g. >/dev/null to discard it", errStdoutClosed, err)
}

func checkStdoutFD(fd int) (warning string, err error) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return "", stdoutClosed(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", fmt.Errorf("stdout: fstat: %w", err)
	}
	mode := fl & unix.O_ACCMODE
	if mode == unix.O_RDONLY {
		return "", errors.New("stdout is open for reading only: the guest's console output cannot be written; redirect it, e.g. >/dev/null to discard it")
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK:
		// A pipe or socket whose reader has gone polls as an error or
		// hang-up; the first console write would end the run.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(pfd, 0); err == nil && n == 1 && pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			return "", errors.New("stdout is a pipe whose reader has closed it: the guest's console output has nowhere to go")
		}
	case unix.S_IFCHR:
		if unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3 && mode == unix.O_RDWR {
			return "stdout looks closed (>&-; Go reopens a closed stdout as /dev/null read-write): the guest's console output is discarded", nil
		}
	}
	return "", nil
}
