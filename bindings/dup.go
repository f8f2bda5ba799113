//go:build linux

package bindings

// Duplicating fds (dup, dup2, dup3, fcntl F_DUPFD and F_DUPFD_CLOEXEC):
// the new fd names the same open file description (fdops.go), so the
// two share the object, the position and the status flags; each has its
// own FD_CLOEXEC. Closing one leaves the other working: the kind's close
// runs (a socket goes to the stack to close, a pipe end reports EOF or
// EPIPE to the other end) and the description's epoll watches go when
// its last fd is closed.

// fdClose closes fd, and releases its description if fd was its last.
func fdClose(fd uintptr) {
	d := fdFile(fd)
	e := &files[d]
	fdTab[fd] = fdSlot{}
	if e.refs--; e.refs > 0 {
		return
	}
	if c := ops(e).close; c != nil {
		c(e)
	}
	*e = fdEntry{}
	epollForget(int32(d))
}

// fdDrop undoes the fdAlloc of an open that failed afterwards (the
// kind's close does not run: the kind has not set up the fd).
func fdDrop(fd int64) {
	d := fdFile(uintptr(fd))
	fdTab[fd] = fdSlot{}
	files[d] = fdEntry{}
}

// fdCloexec sets FD_CLOEXEC of fd, just opened, if the open's flags ask
// (O_CLOEXEC, SOCK_CLOEXEC, EFD_CLOEXEC and EPOLL_CLOEXEC are one bit),
// and returns fd, or the open's errno.
func fdCloexec(fd int64, flags uintptr) int64 {
	if fd >= 0 && flags&_O_CLOEXEC != 0 {
		fdTab[fd].cloexec = true
	}
	return fd
}

// fdDup makes newfd (closed, or closed here first) name oldfd's
// description, and returns newfd.
func fdDup(oldfd, newfd uintptr, cloexec bool) int64 {
	d := fdTab[oldfd].file
	if fdTab[newfd].file != 0 {
		fdClose(newfd) // silently, as dup2 closes: no socket linger
	}
	files[d-1].refs++
	fdTab[newfd] = fdSlot{file: d, cloexec: cloexec}
	return int64(newfd)
}

// fdFcntl is fcntl's commands on the fd itself (oldfd is open).
func fdFcntl(fd uintptr, cmd int, arg uintptr) int64 {
	switch cmd {
	case _F_GETFD:
		if fdTab[fd].cloexec {
			return _FD_CLOEXEC
		}
		return 0
	case _F_SETFD:
		fdTab[fd].cloexec = arg&_FD_CLOEXEC != 0
		return 0
	}
	// F_DUPFD, F_DUPFD_CLOEXEC: the lowest closed fd from arg.
	if arg >= maxFDs {
		return -_EINVAL
	}
	n := fdFree(arg)
	if n < 0 {
		return n
	}
	return fdDup(fd, uintptr(n), cmd == _F_DUPFD_CLOEXEC)
}

func sysDup(t *thread, a sysArgs) (int64, sysResult) {
	if fdFile(a[0]) < 0 {
		return done(-_EBADF)
	}
	n := fdFree(0)
	if n < 0 {
		return done(n)
	}
	return done(fdDup(a[0], uintptr(n), false))
}

// sysDup2 is dup2 (amd64 only: arm64 has dup3 alone).
func sysDup2(t *thread, a sysArgs) (int64, sysResult) {
	oldfd, newfd := a[0], a[1]
	switch {
	case fdFile(oldfd) < 0:
		return done(-_EBADF)
	case oldfd == newfd:
		return done(int64(newfd))
	}
	return done(dupTo(oldfd, newfd, false))
}

func sysDup3(t *thread, a sysArgs) (int64, sysResult) {
	oldfd, newfd, flags := a[0], a[1], a[2]
	switch {
	case flags&^_O_CLOEXEC != 0 || oldfd == newfd:
		return done(-_EINVAL)
	case fdFile(oldfd) < 0:
		return done(-_EBADF)
	}
	return done(dupTo(oldfd, newfd, flags&_O_CLOEXEC != 0))
}

// dupTo is dup2 and dup3 of an open oldfd to another fd.
func dupTo(oldfd, newfd uintptr, cloexec bool) int64 {
	if newfd >= maxFDs {
		return -_EBADF
	}
	return fdDup(oldfd, newfd, cloexec)
}
