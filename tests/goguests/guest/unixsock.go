//go:build linux && (amd64 || arm64)

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unixSockets exercises named unix-domain stream sockets: net/http served
// on a path in /tmp and on an abstract name, a client in the same
// program; the node the path makes; the names each end reports; and the
// errors Linux gives (each errno here is what Linux returns: this mode
// runs as an ordinary Linux program too).
func unixSockets() {
	dir, err := os.MkdirTemp("", "unixsock")
	check("unixsock: MkdirTemp", err)
	defer os.RemoveAll(dir)
	path := dir + "/http.sock"
	for _, addr := range []string{path, "@unimon-unixsock-test"} {
		serveAndGet(addr)
	}
	_, err = os.Stat(path)
	checkOK("unixsock: Close removes the node", errors.Is(err, os.ErrNotExist), err)

	// Relative to the cwd, and a node that is a socket.
	check("unixsock: Chdir", os.Chdir(dir))
	l, err := net.Listen("unix", "rel.sock")
	check("unixsock: Listen relative", err)
	st, err := os.Stat(dir + "/rel.sock")
	checkOK("unixsock: the node is a socket", err == nil && st.Mode()&os.ModeSocket != 0, st, err)
	_, err = os.Open(dir + "/rel.sock")
	checkOK("unixsock: open of the node is ENXIO", errors.Is(err, unix.ENXIO), err)
	c, err := net.Dial("unix", dir+"/rel.sock")
	check("unixsock: Dial absolute", err)
	a, err := l.Accept()
	check("unixsock: Accept", err)
	// As Linux: the listener's name as it was bound, "@" for unnamed.
	checkOK("unixsock: the client's names", c.LocalAddr().String() == "@" && c.RemoteAddr().String() == "rel.sock",
		c.LocalAddr(), c.RemoteAddr())
	checkOK("unixsock: the accepted end's names", a.LocalAddr().String() == "rel.sock" && a.RemoteAddr().String() == "@",
		a.LocalAddr(), a.RemoteAddr())
	_, _, err = c.(*net.UnixConn).WriteMsgUnix([]byte("pi"), nil, nil) // sendmsg
	check("unixsock: WriteMsgUnix", err)
	_, err = c.Write([]byte("ng"))
	check("unixsock: Write", err)
	buf := make([]byte, 1)
	n, _, _, from, err := a.(*net.UnixConn).ReadMsgUnix(buf, nil) // recvmsg
	checkOK("unixsock: ReadMsgUnix", err == nil && n == 1 && buf[0] == 'p' && from == nil, n, from, err)
	check("unixsock: CloseWrite", c.(*net.UnixConn).CloseWrite())
	b, err := io.ReadAll(a)
	checkOK("unixsock: data and end of file", err == nil && string(b) == "ing", string(b), err)
	a.Close()
	c.Close()

	unixErrors(dir)
	l.Close()
}

// serveAndGet serves net/http on the unix socket addr and GETs from it.
func serveAndGet(addr string) {
	l, err := net.Listen("unix", addr)
	check("unixsock: Listen "+addr, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.URL.Path)
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		},
	}}
	for range 3 { // the second and third on the kept-alive connection
		resp, err := client.Get("http://unix/x")
		check("unixsock: GET "+addr, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkOK("unixsock: GET over "+addr, err == nil && string(b) == "hello over /x", string(b), err)
	}
	client.CloseIdleConnections()
	check("unixsock: Shutdown", srv.Shutdown(context.Background()))
	checkOK("unixsock: Serve returns", errors.Is(<-done, http.ErrServerClosed))
}

// unixErrors checks the errors of the system calls against Linux's.
func unixErrors(dir string) {
	_, err := net.Dial("unix", dir+"/missing.sock")
	checkOK("unixsock: connect to a missing path is ENOENT", errors.Is(err, unix.ENOENT), err)
	_, err = net.Dial("unix", "@unimon-nobody")
	checkOK("unixsock: connect to an unused abstract name is ECONNREFUSED", errors.Is(err, unix.ECONNREFUSED), err)
	_, err = net.Listen("unix", dir+"/rel.sock")
	checkOK("unixsock: bind to a bound path is EADDRINUSE", errors.Is(err, unix.EADDRINUSE), err)
	l, err := net.Listen("unix", "@unimon-twice")
	check("unixsock: Listen abstract", err)
	_, err = net.Listen("unix", "@unimon-twice")
	checkOK("unixsock: bind to a bound abstract name is EADDRINUSE", errors.Is(err, unix.EADDRINUSE), err)
	l.Close()

	// A node nobody listens on: bound, not listening.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	check("unixsock: socket", err)
	check("unixsock: bind", unix.Bind(fd, &unix.SockaddrUnix{Name: dir + "/quiet.sock"}))
	sa, err := unix.Getsockname(fd)
	su, _ := sa.(*unix.SockaddrUnix)
	checkOK("unixsock: getsockname gives the path", err == nil && su != nil && su.Name == dir+"/quiet.sock", sa, err)
	_, err = unix.Getpeername(fd)
	checkOK("unixsock: getpeername of an unconnected socket is ENOTCONN", errors.Is(err, unix.ENOTCONN), err)
	_, _, err = unix.Accept4(fd, 0)
	checkOK("unixsock: accept4 before listen is EINVAL", errors.Is(err, unix.EINVAL), err)
	_, err = net.Dial("unix", dir+"/quiet.sock")
	checkOK("unixsock: connect to a socket not listening is ECONNREFUSED", errors.Is(err, unix.ECONNREFUSED), err)
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: dir + "/again.sock"})
	checkOK("unixsock: bind twice is EINVAL", errors.Is(err, unix.EINVAL), err)
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	checkOK("unixsock: SO_ACCEPTCONN before listen", err == nil && v == 0, v, err)
	check("unixsock: listen", unix.Listen(fd, 1))
	v, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	checkOK("unixsock: SO_ACCEPTCONN after listen", err == nil && v == 1, v, err)
	v, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	checkOK("unixsock: SO_TYPE", err == nil && v == unix.SOCK_STREAM, v, err)
	unix.Close(fd)

	fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	check("unixsock: socket", err)
	checkOK("unixsock: listen unbound is EINVAL", errors.Is(unix.Listen(fd, 1), unix.EINVAL))
	err = unix.Connect(fd, &unix.SockaddrInet4{})
	checkOK("unixsock: connect to an AF_INET address is EINVAL", errors.Is(err, unix.EINVAL), err)
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: dir})
	checkOK("unixsock: connect to a directory is ECONNREFUSED", errors.Is(err, unix.ECONNREFUSED), err)
	// Hostile arguments: a bad address, bad lengths.
	one := byte(unix.AF_UNIX)
	for _, c := range []struct {
		what       string
		nr, a1, a2 uintptr
		want       unix.Errno
	}{
		{"bind to an address at 1 is EFAULT", unix.SYS_BIND, 1, 110, unix.EFAULT},
		{"bind with length 200 is EINVAL", unix.SYS_BIND, 1, 200, unix.EINVAL},
		{"connect from an address at 1 is EFAULT", unix.SYS_CONNECT, 1, 1, unix.EFAULT},
		{"connect with length 1 is EINVAL", unix.SYS_CONNECT, uintptr(unsafe.Pointer(&one)), 1, unix.EINVAL},
		{"getsockname to a length at 1 is EFAULT", unix.SYS_GETSOCKNAME, 8, 1, unix.EFAULT},
	} {
		_, _, e := unix.Syscall(c.nr, uintptr(fd), c.a1, c.a2)
		checkOK("unixsock: "+c.what, e == c.want, e)
	}
	unix.Close(fd)
	_, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 2)
	checkOK("unixsock: protocol 2 is EPROTONOSUPPORT", errors.Is(err, unix.EPROTONOSUPPORT), err)
}
