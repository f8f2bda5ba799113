//go:build linux && (amd64 || arm64)

package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketPair exercises socketpair(AF_UNIX, SOCK_STREAM) through package
// net (net.FileConn, as programs use it) and the system calls: data both
// ways, shutdown, SO_ERROR, the unnamed address, EOF and EPIPE when an
// end's last fd closes; and what is refused.
func socketPair() {
	_, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	checkOK("socketpair: datagram is refused", errors.Is(err, unix.ESOCKTNOSUPPORT), err)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	check("socketpair", err)
	v, err := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_ERROR)
	checkOK("socketpair: SO_ERROR is 0", err == nil && v == 0, v, err)
	v, err = unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_TYPE)
	checkOK("socketpair: SO_TYPE is SOCK_STREAM", err == nil && v == unix.SOCK_STREAM, v, err)
	// Unnamed: the family alone, which x/sys/unix reads as "@" (on
	// Linux too).
	sa, err := unix.Getsockname(fds[0])
	su, ok := sa.(*unix.SockaddrUnix)
	checkOK("socketpair: getsockname is unnamed", err == nil && ok && su.Name == "@", sa, err)
	sa, err = unix.Getpeername(fds[0])
	su, ok = sa.(*unix.SockaddrUnix)
	checkOK("socketpair: getpeername is unnamed", err == nil && ok && su.Name == "@", sa, err)
	_, err = unix.Socketpair(unix.AF_INET, unix.SOCK_STREAM, 0)
	checkOK("socketpair: AF_INET is EOPNOTSUPP", errors.Is(err, unix.EOPNOTSUPP), err)
	// Protocol PF_UNIX (1) is the family's one protocol, as 0 is; others
	// are refused, as Linux's unix_create does.
	pf, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, unix.PF_UNIX)
	checkOK("socketpair: protocol PF_UNIX", err == nil, err)
	if err == nil {
		unix.Close(pf[0])
		unix.Close(pf[1])
	}
	_, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 2)
	checkOK("socketpair: protocol 2 is EPROTONOSUPPORT", errors.Is(err, unix.EPROTONOSUPPORT), err)
	fl, _ := fcntl(fds[1], syscall.F_GETFD, 0)
	checkOK("socketpair: SOCK_CLOEXEC", fl == syscall.FD_CLOEXEC, fl)

	// Through net: FileConn dups each fd, so the originals can go.
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		check("socketpair: FileConn", err)
		f.Close()
		conns[i] = c.(*net.UnixConn)
	}
	a, b := conns[0], conns[1]
	big := make([]byte, 1<<20) // more than the ring: the writer waits for the reader
	for i := range big {
		big[i] = byte(i * 13)
	}
	go func() {
		_, err := a.Write(big)
		check("socketpair: write", err)
		check("socketpair: CloseWrite", a.CloseWrite())
	}()
	got, err := io.ReadAll(b)
	checkOK("socketpair: 1 MiB one way, then EOF at shutdown", err == nil && string(got) == string(big), len(got), err)
	_, err = b.Write([]byte("back"))
	check("socketpair: write back", err)
	buf := make([]byte, 8)
	n, err := io.ReadAtLeast(a, buf, 4)
	checkOK("socketpair: the other way after the shutdown", err == nil && string(buf[:n]) == "back", n, err)
	a.Close()
	_, err = b.Write([]byte("x"))
	checkOK("socketpair: EPIPE once the peer is closed", errors.Is(err, syscall.EPIPE), err)
	b.Close()
}
