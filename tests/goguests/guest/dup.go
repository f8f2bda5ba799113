//go:build linux && (amd64 || arm64)

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkOK prints "WHAT ok", or what went wrong and exits 1.
func checkOK(what string, ok bool, got ...any) {
	if !ok {
		fmt.Printf("%s: FAILED: %v\n", what, got)
		os.Exit(1)
	}
	fmt.Printf("%s ok\n", what)
}

// dupFds exercises dup, dup2 (dup3 on arm64, which has no dup2), dup3
// and fcntl's F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD and F_SETFD with Linux's
// semantics: the fds share the open file description (object, offset,
// status flags), each has its own FD_CLOEXEC, the object goes with the
// last fd, and so does an epoll watch.
func dupFds() {
	// Errors, as Linux reports them.
	_, err := unix.Dup(4000)
	checkOK("dup: dup of a closed fd is EBADF", errors.Is(err, unix.EBADF), err)
	_, err = fcntl(4000, syscall.F_DUPFD, 0)
	checkOK("dup: F_DUPFD of a closed fd is EBADF", errors.Is(err, unix.EBADF), err)
	r, w, err := os.Pipe()
	check("dup: pipe", err)
	rfd, wfd := int(r.Fd()), int(w.Fd())
	err = unix.Dup3(wfd, wfd, 0)
	checkOK("dup: dup3 to itself is EINVAL", errors.Is(err, unix.EINVAL), err)
	err = unix.Dup3(wfd, 100, 0x1)
	checkOK("dup: dup3 with a bad flag is EINVAL", errors.Is(err, unix.EINVAL), err)
	err = unix.Dup3(wfd, 1<<20, 0)
	checkOK("dup: dup3 beyond the fd limit is EBADF", errors.Is(err, unix.EBADF), err)
	_, err = fcntl(wfd, syscall.F_DUPFD, 1<<20)
	checkOK("dup: F_DUPFD beyond the fd limit is EINVAL", errors.Is(err, unix.EINVAL), err)

	// FD_CLOEXEC: set by O_CLOEXEC (os.Pipe's pipe2 asks for it), and
	// per fd.
	fw, _ := fcntl(wfd, syscall.F_GETFD, 0)
	checkOK("dup: O_CLOEXEC sets FD_CLOEXEC", fw == syscall.FD_CLOEXEC, fw)
	// F_DUPFD: the lowest free fd from its argument.
	d1, err := fcntl(wfd, syscall.F_DUPFD, 50)
	checkOK("dup: F_DUPFD gives the lowest fd from its argument", err == nil && d1 == 50, d1, err)
	d2, err := fcntl(wfd, syscall.F_DUPFD_CLOEXEC, 50)
	checkOK("dup: F_DUPFD_CLOEXEC gives the next", err == nil && d2 == 51, d2, err)
	f1, _ := fcntl(d1, syscall.F_GETFD, 0)
	f2, _ := fcntl(d2, syscall.F_GETFD, 0)
	checkOK("dup: FD_CLOEXEC is per fd", f1 == 0 && f2 == syscall.FD_CLOEXEC, f1, f2)
	_, err = fcntl(d1, syscall.F_SETFD, syscall.FD_CLOEXEC)
	f1, _ = fcntl(d1, syscall.F_GETFD, 0)
	f2, _ = fcntl(d2, syscall.F_GETFD, 0)
	checkOK("dup: F_SETFD sets it", err == nil && f1 == syscall.FD_CLOEXEC && f2 == syscall.FD_CLOEXEC, f1, f2, err)
	d3, err := unix.Dup(wfd)
	checkOK("dup: dup gives the lowest free fd", err == nil && d3 < d1, d3, err)
	d4 := 60
	err = unix.Dup2(wfd, d4) // dup3 on arm64
	checkOK("dup: dup2 to a closed fd", err == nil, err)
	err = unix.Dup3(rfd, d4, unix.O_CLOEXEC) // d4 was a write end: closed first
	f4, _ := fcntl(d4, syscall.F_GETFD, 0)
	checkOK("dup: dup3 to an open fd replaces it, with O_CLOEXEC", err == nil && f4 == syscall.FD_CLOEXEC, err, f4)

	// The status flags are the description's.
	fl, _ := fcntl(d3, syscall.F_GETFL, 0)
	_, err = fcntl(d3, syscall.F_SETFL, fl^syscall.O_NONBLOCK)
	fl2, _ := fcntl(wfd, syscall.F_GETFL, 0)
	checkOK("dup: O_NONBLOCK is shared", err == nil && (fl^fl2)&syscall.O_NONBLOCK != 0, fl, fl2, err)
	_, _ = fcntl(d3, syscall.F_SETFL, fl)

	// A pipe's write end stays open until its last fd closes: the
	// reader sees EOF only then.
	w.Close()
	for _, fd := range []int{d1, d2} {
		check("dup: close", unix.Close(fd))
	}
	_, err = unix.Write(d3, []byte("via dup"))
	check("dup: write through the last fd", err)
	buf := make([]byte, 64)
	n, err := unix.Read(d4, buf)
	checkOK("dup: a dup of the read end reads what the write end's dup wrote", err == nil && string(buf[:n]) == "via dup", n, err)
	check("dup: close", unix.Close(d3))
	n, err = r.Read(buf)
	checkOK("dup: EOF once the write end's last fd is closed", n == 0 && err != nil, n, err)
	// And EPIPE once the read end's last fd closes.
	r2, w2, err := os.Pipe()
	check("dup: pipe", err)
	rd, err := unix.Dup(int(r2.Fd()))
	check("dup: dup", err)
	r2.Close()
	_, err = w2.Write([]byte("x"))
	checkOK("dup: no EPIPE while a dup of the read end is open", err == nil, err)
	check("dup: close", unix.Close(rd))
	_, err = w2.Write([]byte("x"))
	checkOK("dup: EPIPE once the read end's last fd is closed", errors.Is(err, syscall.EPIPE), err)
	w2.Close()
	r.Close()
	check("dup: close", unix.Close(d4))

	// A file's offset is shared; closing the original leaves the dup's.
	f, err := os.Create("/tmp/dup")
	check("dup: create", err)
	fd2, err := unix.Dup(int(f.Fd()))
	check("dup: dup", err)
	_, err = f.Write([]byte("hello, world"))
	check("dup: write", err)
	off, err := unix.Seek(fd2, 0, 1)
	checkOK("dup: the offset is shared", err == nil && off == 12, off, err)
	_, err = unix.Seek(fd2, 7, 0)
	check("dup: seek", err)
	f.Close()
	n, err = unix.Read(fd2, buf)
	checkOK("dup: the dup reads on after the original is closed", err == nil && string(buf[:n]) == "world", string(buf[:n]), err)
	check("dup: close", unix.Close(fd2))

	// An eventfd's counter is the description's.
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK)
	check("dup: eventfd", err)
	efd2, err := unix.Dup(efd)
	check("dup: dup", err)
	_, err = unix.Write(efd, []byte{3, 0, 0, 0, 0, 0, 0, 0})
	check("dup: eventfd write", err)
	check("dup: close", unix.Close(efd))
	n, err = unix.Read(efd2, buf[:8])
	checkOK("dup: an eventfd's dup reads its counter", err == nil && n == 8 && buf[0] == 3, n, err, buf[0])
	check("dup: close", unix.Close(efd2))

	// An epoll watch is of the description: it stays when the watched
	// fd closes while a dup is open, and goes with the last fd.
	ep, err := unix.EpollCreate1(0)
	check("dup: epoll_create1", err)
	var p [2]int
	check("dup: pipe2", unix.Pipe2(p[:], unix.O_NONBLOCK))
	check("dup: epoll_ctl", unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p[0], &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p[0])}))
	rdup, err := unix.Dup(p[0])
	check("dup: dup", err)
	check("dup: close", unix.Close(p[0]))
	_, err = unix.Write(p[1], []byte("x"))
	check("dup: write", err)
	evs := make([]unix.EpollEvent, 4)
	n, err = unix.EpollWait(ep, evs, 0)
	checkOK("dup: a watch stays while a dup of its fd is open", err == nil && n == 1 && evs[0].Fd == int32(p[0]), n, err)
	err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, rdup, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(rdup)})
	checkOK("dup: the dup can be watched too", err == nil, err)
	n, _ = unix.EpollWait(ep, evs, 0)
	checkOK("dup: both watches report", n == 2, n)
	check("dup: close", unix.Close(rdup))
	n, err = unix.EpollWait(ep, evs, 0)
	checkOK("dup: the watches go with the last fd", err == nil && n == 0, n, err)
	epdup, err := unix.Dup(ep)
	check("dup: dup", err)
	check("dup: close", unix.Close(ep))
	check("dup: pipe2", unix.Pipe2(p[:], unix.O_NONBLOCK)) // p[0] may reuse the old number
	err = unix.EpollCtl(epdup, unix.EPOLL_CTL_ADD, p[0], &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p[0])})
	_, _ = unix.Write(p[1], []byte("x"))
	n, _ = unix.EpollWait(epdup, evs, 0)
	checkOK("dup: an epoll instance's dup is the same instance", err == nil && n == 1, n, err)
	for _, fd := range []int{p[0], p[1], epdup} {
		check("dup: close", unix.Close(fd))
	}
	fmt.Println("dup: done")
}
