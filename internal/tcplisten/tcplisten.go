//go:build linux

package tcplisten

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// keepAlive is net's default keep-alive for accepted connections: idle
// time and interval 15 s, 9 probes.
const (
	keepAliveSeconds = 15
	keepAliveProbes  = 9
)

// listener is a listening TCP socket, as net.ListenTCP returns one.
type listener struct {
	f      *os.File
	rc     syscall.RawConn
	addr   *net.TCPAddr
	zone   string
	closed atomic.Bool
}

// Listen listens on ap as net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
// does: an unspecified address (0.0.0.0 or ::) gets one socket for IPv6
// and IPv4 both, as on every Linux that has IPv6, whose address then
// reads [::]:PORT; port 0 picks a free port. The listener's
// SetDeadline(time.Time) ends an Accept in progress, as a
// *net.TCPListener's does.
func Listen(ap netip.AddrPort) (net.Listener, error) {
	l, err := listen(ap)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err}
	}
	return l, nil
}

func listen(ap netip.AddrPort) (*listener, error) {
	ip, zone := ap.Addr().Unmap(), ap.Addr().Zone()
	family := unix.AF_INET6
	if ip.Is4() && !ip.IsUnspecified() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err == unix.EAFNOSUPPORT && family == unix.AF_INET6 && ip.Is4() {
		// A kernel without IPv6: 0.0.0.0 is IPv4 only, as net has it.
		family = unix.AF_INET
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
	} else {
		// IPV6_V6ONLY off, as net sets it: a wildcard socket takes IPv4.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt", err)
		}
		if ip.Is4() {
			ip = netip.IPv6Unspecified()
		}
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16(), ZoneId: zoneIndex(fd, zone)}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	// The kernel caps the backlog at net.core.somaxconn, as net asks.
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	var bound rawAddr
	if _, err := bound.get(unix.SYS_GETSOCKNAME, fd, 0); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	// A non-blocking fd: os.NewFile hands it to the netpoller.
	l := &listener{f: os.NewFile(uintptr(fd), "tcp listener"), zone: zone}
	l.addr = bound.tcpAddr(zone)
	if l.rc, err = l.f.SyscallConn(); err != nil {
		l.f.Close()
		return nil, err
	}
	return l, nil
}

// zoneIndex is the interface index of an IPv6 zone: a number, or an
// interface name (asked of the kernel on fd); 0 (no zone) for a name the
// kernel does not know, as net has it.
func zoneIndex(fd int, zone string) uint32 {
	if zone == "" {
		return 0
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	ifr, err := unix.NewIfreq(zone)
	if err != nil {
		return 0
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0
	}
	return ifr.Uint32()
}

// rawAddr is a socket address as accept4 and getsockname write it. They
// are called directly, not through x/sys/unix's Accept4 and Getsockname,
// whose conversion to a unix.Sockaddr takes every address family Linux
// has (10 KB of binary) where TCP needs two.
type rawAddr struct {
	sa  unix.RawSockaddrAny
	len uint32
}

// get makes the call nr (SYS_ACCEPT4 or SYS_GETSOCKNAME) on fd, which
// writes the address into a; it returns accept4's new fd.
func (a *rawAddr) get(nr uintptr, fd, flags int) (int, error) {
	a.len = uint32(unsafe.Sizeof(a.sa))
	r, _, errno := unix.Syscall6(nr, uintptr(fd), uintptr(unsafe.Pointer(&a.sa)), uintptr(unsafe.Pointer(&a.len)), uintptr(flags), 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// tcpAddr is the address as a *net.TCPAddr; zone names the scope of a
// link-local IPv6 address as the caller gave it.
func (a *rawAddr) tcpAddr(zone string) *net.TCPAddr {
	switch a.sa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.sa))
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: port(sa.Port)}
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.sa))
		ta := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: port(sa.Port)}
		if sa.Scope_id != 0 {
			ta.Zone = zone
			if ta.Zone == "" {
				ta.Zone = strconv.FormatUint(uint64(sa.Scope_id), 10)
			}
		}
		return ta
	}
	return &net.TCPAddr{}
}

// port is a port number in network byte order as a number.
func port(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}

// Accept waits for the next connection. It returns an error matching
// net.ErrClosed once the listener is closed, even in an Accept already
// waiting, and one matching os.ErrDeadlineExceeded past the deadline.
func (l *listener) Accept() (net.Conn, error) {
	var nfd int
	var remote rawAddr
	var aerr error
	err := l.rc.Read(func(fd uintptr) bool {
		for {
			nfd, aerr = remote.get(unix.SYS_ACCEPT4, int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			switch aerr {
			case unix.EINTR, unix.ECONNABORTED:
				continue // as net: a connection reset before accept is skipped
			case unix.EAGAIN:
				return false // the netpoller waits
			}
			return true
		}
	})
	switch {
	case l.closed.Load():
		err = net.ErrClosed
	case err == nil && aerr != nil:
		err = os.NewSyscallError("accept4", aerr)
	}
	if err != nil {
		if aerr == nil && nfd > 0 {
			unix.Close(nfd)
		}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
	}
	// What net sets on every accepted TCP connection.
	opts := []struct{ level, opt, value int }{
		{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepAliveSeconds},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepAliveSeconds},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepAliveProbes},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(nfd, o.level, o.opt, o.value); err != nil {
			unix.Close(nfd)
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: os.NewSyscallError("setsockopt", err)}
		}
	}
	var local rawAddr
	if _, err := local.get(unix.SYS_GETSOCKNAME, nfd, 0); err != nil {
		unix.Close(nfd)
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: os.NewSyscallError("getsockname", err)}
	}
	return &conn{f: os.NewFile(uintptr(nfd), "tcp"), local: local.tcpAddr(l.zone), remote: remote.tcpAddr(l.zone)}, nil
}

// Close stops listening; an Accept waiting returns net.ErrClosed.
func (l *listener) Close() error {
	if l.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	if err := l.f.Close(); err != nil {
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: unwrapPath(err)}
	}
	return nil
}

// Addr is the address the listener is bound to.
func (l *listener) Addr() net.Addr { return l.addr }

// SetDeadline sets the time after which Accept gives up; the zero time
// waits forever.
func (l *listener) SetDeadline(t time.Time) error {
	if l.closed.Load() {
		return &net.OpError{Op: "set", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	return l.f.SetDeadline(t)
}

// conn is an accepted connection: an os.File on the socket, whose
// errors read as a net.TCPConn's.
type conn struct {
	f             *os.File
	local, remote *net.TCPAddr
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	return n, c.opError("read", err)
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	return n, c.opError("write", err)
}

func (c *conn) Close() error { return c.opError("close", c.f.Close()) }

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	return c.opError("set", c.f.SetDeadline(t))
}

func (c *conn) SetReadDeadline(t time.Time) error {
	return c.opError("set", c.f.SetReadDeadline(t))
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	return c.opError("set", c.f.SetWriteDeadline(t))
}

// opError turns an os.File's error into net.TCPConn's for the same
// failure: io.EOF as it is, a closed file as net.ErrClosed, a system
// call's errno named by the call.
func (c *conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	err = unwrapPath(err)
	switch {
	case errors.Is(err, os.ErrClosed):
		err = net.ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
	default:
		var errno syscall.Errno
		if errors.As(err, &errno) && op != "set" {
			err = os.NewSyscallError(op, errno)
		}
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// unwrapPath strips the *os.PathError an os.File wraps its errors in.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
