//go:build linux

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// Sockets (AF_INET, AF_INET6; SOCK_STREAM, SOCK_DGRAM) served by the
// network stack, gVisor's netstack running as goroutines of the program
// (package bindings/netstack, linked in by `unimon build` when the
// program imports net). The kernel cannot call the stack (it allocates
// and locks); the two share socktab's arrays (see its doc):
//
//   - read, write, sendto, recvfrom, sendmsg, recvmsg, readv and writev
//     move bytes between the program's buffers and the socket's rings
//     here, without the stack: they never wait for it. On a non-blocking
//     socket (all of Go's net package), a read finding Rx empty is
//     EAGAIN (the Go runtime then waits in its netpoller), a write
//     finding Tx full too. On a blocking socket the thread parks
//     (waitSock) and runs the call again when the stack reports (more
//     data, more room), as Linux blocks: a send until all of it is in
//     Tx (the thread's call state remembers how much already is), a
//     receive until there is something; SO_RCVTIMEO and SO_SNDTIMEO
//     bound the wait.
//   - connect is asynchronous (EINPROGRESS, then writability and
//     SO_ERROR, which is what Go's net package does with a non-blocking
//     socket; a blocking connect waits for the result); accept4 takes a
//     connection the stack already accepted (or waits for one).
//   - bind and listen wait for the stack (their errors, EADDRINUSE say,
//     and the port bind chose are results): the thread parks (waitSock)
//     and runs the call again when the stack reports (sysRestart).
//   - the kernel asks for work with Req bits and the doorbell fd
//     (/dev/unimon/sockets) the stack reads through the netpoller; the
//     stack sets socktab.Changed when it changed something, which the
//     next system call sees (sockChanged): epoll readiness is evaluated
//     again and the waiting threads run their call again.
//
// Readiness for epoll comes from the rings and flags; an edge-triggered
// watch (EPOLLET, as the Go runtime registers fds) reports a direction
// again each time the stack bumps its generation counter (more data, more
// room), as Linux reports each arrival.

// Socket constants (Linux).
const (
	_AF_UNSPEC  = 0
	_AF_INET    = 2
	_AF_INET6   = 10
	_AF_NETLINK = 16

	_SOCK_STREAM   = 1
	_SOCK_DGRAM    = 2
	_SOCK_RAW      = 3
	_SOCK_NONBLOCK = 0x800
	_SOCK_CLOEXEC  = 0x80000

	_IPPROTO_IP   = 0
	_IPPROTO_TCP  = 6
	_IPPROTO_UDP  = 17
	_IPPROTO_IPV6 = 41

	_SOL_SOCKET    = 1
	_SO_REUSEADDR  = 2
	_SO_TYPE       = 3
	_SO_ERROR      = 4
	_SO_BROADCAST  = 6
	_SO_SNDBUF     = 7
	_SO_RCVBUF     = 8
	_SO_KEEPALIVE  = 9
	_SO_LINGER     = 13
	_SO_REUSEPORT  = 15
	_SO_ACCEPTCONN = 30
	_SO_RCVTIMEO   = 20 // SO_RCVTIMEO_OLD: a struct timeval
	_SO_SNDTIMEO   = 21
	_SO_RCVTIMEO_2 = 66 // SO_RCVTIMEO_NEW: a 64-bit timeval, the same layout here
	_SO_SNDTIMEO_2 = 67
	_SO_DOMAIN     = 39
	_SO_PROTOCOL   = 38

	_TCP_NODELAY   = 1
	_TCP_KEEPIDLE  = 4
	_TCP_KEEPINTVL = 5
	_TCP_KEEPCNT   = 6

	_IPV6_V6ONLY = 26

	_SHUT_RD   = 0
	_SHUT_WR   = 1
	_SHUT_RDWR = 2

	_MSG_PEEK         = 0x2
	_MSG_TRUNC        = 0x20
	_MSG_DONTWAIT     = 0x40
	_MSG_CMSG_CLOEXEC = 0x40000000
	_MSG_NOSIGNAL     = 0x4000

	_EINTR           = 4
	_EDOM            = 33
	_ENOTSOCK        = 88
	_EDESTADDRREQ    = 89
	_EMSGSIZE        = 90
	_ENOPROTOOPT     = 92
	_EPROTONOSUPPORT = 93
	_ESOCKTNOSUPPORT = 94
	_EOPNOTSUPP      = 95
	_EAFNOSUPPORT    = 97
	_ECONNABORTED    = 103
	_EISCONN         = 106
	_ENOTCONN        = 107
	_EALREADY        = 114
	_EINPROGRESS     = 115

	// defaultSockBuf is what SO_RCVBUF and SO_SNDBUF report before the
	// program sets them (Linux's default, net.core.rmem_default).
	defaultSockBuf = 212992
	// maxDatagram is the largest UDP payload.
	maxDatagram = 65507
)

// sockKernel is the kernel's own state of a socket (not shared).
type sockKernel struct {
	connWait bool  // a blocking connect waits for the result
	closeBy  int64 // a close waiting for the stack to take Tx stops waiting then
	rcvTimeo int64 // SO_RCVTIMEO in ns; 0: wait for ever
	sndTimeo int64 // SO_SNDTIMEO
}

var sockK [socktab.Max]sockKernel

// bell is the doorbell: requests not yet read by the stack, and the
// generation its watches' edges come from.
var bell struct {
	open  bool
	count uint64
	gen   uint32
}

// ring tells the stack that socket s has work (req bits).
func ring(s *socktab.Sock, req uint32) {
	s.Req.Or(req)
	bell.count++
	bell.gen++
	readinessChanged = true
}

// sockOf returns the socket of fd, or an errno.
func sockOf(fd uintptr) (*fdEntry, *socktab.Sock, int64) {
	e := fdGet(fd)
	if e == nil {
		return nil, nil, -_EBADF
	}
	if e.kind != fdSocket {
		return nil, nil, -_ENOTSOCK
	}
	return e, &socktab.Socks[e.handle], 0
}

func sysSocket(t *thread, a sysArgs) (int64, sysResult) {
	domain, typ, proto := int(a[0]), int(a[1]), int(a[2])
	if domain == _AF_NETLINK {
		return done(fdCloexec(netlinkSocket(typ, proto), a[1]))
	}
	if domain == _AF_UNIX {
		return done(unixSocket(typ, proto))
	}
	if domain != _AF_INET && domain != _AF_INET6 {
		return done(-_EAFNOSUPPORT)
	}
	if !bell.open {
		return done(-_EAFNOSUPPORT) // no network stack in this program
	}
	st := typ &^ (_SOCK_NONBLOCK | _SOCK_CLOEXEC)
	switch {
	case st == _SOCK_STREAM && (proto == 0 || proto == _IPPROTO_TCP):
	case st == _SOCK_DGRAM && (proto == 0 || proto == _IPPROTO_UDP):
	case st == _SOCK_STREAM || st == _SOCK_DGRAM:
		return done(-_EPROTONOSUPPORT)
	default:
		return done(-_ESOCKTNOSUPPORT)
	}
	idx := -1
	for i := range socktab.Socks {
		if socktab.Socks[i].State.Load() == socktab.Free {
			idx = i
			break
		}
	}
	if idx < 0 {
		return done(-_ENFILE)
	}
	fd := fdAlloc(fdSocket)
	if fd < 0 {
		return done(fd)
	}
	s := &socktab.Socks[idx]
	s.Reset()
	s.Family, s.Type = uint32(domain), uint32(st)
	s.State.Store(socktab.Open)
	sockK[idx] = sockKernel{}
	fdAt(fd).handle = uint32(idx)
	fdAt(fd).flags = uint32(typ & _O_NONBLOCK)
	fdCloexec(fd, a[1])
	ring(s, 0)
	return done(fd)
}

// getAddr copies a socket address of the program for socket s into dst
// and returns its length, or an errno: Linux's checks of the family and
// the length.
func getAddr(s *socktab.Sock, addr, n uintptr, dst *[socktab.AddrMax]byte) int64 {
	min := uintptr(16)
	if s.Family == _AF_INET6 {
		min = 24 // SIN6_LEN_RFC2133
	}
	if n < 2 || int(n) < 0 {
		return -_EINVAL
	}
	if n > socktab.AddrMax {
		n = socktab.AddrMax
	}
	*dst = [socktab.AddrMax]byte{}
	if !copyIn(unsafe.Pointer(dst), addr, n) {
		return -_EFAULT
	}
	fam := uint32(dst[0]) | uint32(dst[1])<<8
	if fam != s.Family {
		return -_EAFNOSUPPORT
	}
	if n < min {
		return -_EINVAL
	}
	return int64(n)
}

// putAddr writes the socket address src (n bytes) to the program's addr
// with its length at lenp (value-result, as accept4, getsockname and
// recvfrom take it); nothing when addr is 0.
func putAddr(src *[socktab.AddrMax]byte, n uint32, addr, lenp uintptr) int64 {
	return putSockaddr(src[:min(n, socktab.AddrMax)], addr, lenp)
}

// putSockaddr is putAddr of a socket address of any length (a unix
// socket's is longer than socktab's).
func putSockaddr(src []byte, addr, lenp uintptr) int64 {
	if addr == 0 || lenp == 0 {
		return 0
	}
	ul, ok := getU32(lenp)
	if !ok {
		return -_EFAULT
	}
	if int32(ul) < 0 {
		return -_EINVAL
	}
	n := uint32(len(src))
	if !copyOut(addr, unsafe.Pointer(&src[0]), uintptr(min(ul, n))) || !copyOut(lenp, unsafe.Pointer(&n), 4) {
		return -_EFAULT
	}
	return 0
}

// syncOp runs operation op of socket s in the stack, the calling thread
// waiting: the first run asks, the runs
// after each report of the stack find it still asked (and wait again)
// or done (and return its result). fillBind and fillListen copy the
// arguments.
func syncOp(t *thread, s *socktab.Sock, op uint32, a sysArgs) (int64, sysResult) {
	switch s.Sync.State.Load() {
	case socktab.SyncIdle:
		var r int64
		if op == socktab.OpBind {
			r = fillBind(s, a)
		} else {
			r = fillListen(s, a)
		}
		if r < 0 {
			return done(r)
		}
		s.Sync.Op.Store(op)
		s.Sync.State.Store(socktab.SyncAsked)
		ring(s, socktab.ReqSync)
	case socktab.SyncDone:
		s.Sync.State.Store(socktab.SyncIdle)
		return done(-int64(s.Sync.Result.Load()))
	}
	park(t, waitSock, 0)
	return 0, sysRestart
}

func fillBind(s *socktab.Sock, a sysArgs) int64 {
	r := getAddr(s, a[1], a[2], &s.Arg)
	if r >= 0 {
		s.ArgLen = uint32(r)
	}
	return r
}

func fillListen(s *socktab.Sock, a sysArgs) int64 {
	if s.Type != _SOCK_STREAM {
		return -_EOPNOTSUPP
	}
	s.Backlog = int32(a[1])
	return 0
}

func sysBind(t *thread, a sysArgs) (int64, sysResult) {
	if netlinkFd(a[0]) != nil {
		return done(0)
	}
	if u := usockOf(a[0]); u != nil {
		return done(unixBind(u, a[1], a[2]))
	}
	if unixOf(a[0]) != nil {
		return done(-_EINVAL) // connected: bound already, as far as Linux cares
	}
	_, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	return syncOp(t, s, socktab.OpBind, a)
}

func sysListen(t *thread, a sysArgs) (int64, sysResult) {
	if u := usockOf(a[0]); u != nil {
		return done(unixListen(u, int32(a[1])))
	}
	if unixOf(a[0]) != nil {
		return done(-_EINVAL)
	}
	_, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	return syncOp(t, s, socktab.OpListen, a)
}

func sysConnect(t *thread, a sysArgs) (int64, sysResult) {
	if e := fdGet(a[0]); e != nil && e.kind == fdUnixSock {
		return done(unixConnect(e, a[1], a[2]))
	}
	if unixOf(a[0]) != nil {
		return done(-_EISCONN)
	}
	e, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	k := &sockK[e.handle]
	f := s.Flags.Load()
	switch {
	case k.connWait && f&socktab.Connecting != 0:
		if !parkCall(t, waitSock, k.sndTimeo) {
			k.connWait = false // SO_SNDTIMEO: the connect goes on, as on Linux
			return done(-_EINPROGRESS)
		}
		return 0, sysRestart
	case k.connWait:
		k.connWait = false
		return done(-int64(s.Err.Swap(0)))
	case f&socktab.Connecting != 0:
		return done(-_EALREADY)
	case f&socktab.Connected != 0 && s.Type == _SOCK_STREAM:
		return done(-_EISCONN)
	case f&socktab.Listening != 0:
		return done(-_EINVAL)
	}
	n := getAddr(s, a[1], a[2], &s.Peer)
	if n < 0 {
		return done(n)
	}
	s.PeerLen = uint32(n)
	s.Flags.Or(socktab.Connecting)
	ring(s, socktab.ReqConnect)
	if e.flags&_O_NONBLOCK == 0 {
		k.connWait = true
		parkCall(t, waitSock, k.sndTimeo)
		return 0, sysRestart
	}
	return done(-_EINPROGRESS)
}

func sysAccept4(t *thread, a sysArgs) (int64, sysResult) {
	flags := int(a[3])
	if flags&^(_SOCK_NONBLOCK|_SOCK_CLOEXEC) != 0 {
		return done(-_EINVAL)
	}
	if e := fdGet(a[0]); e != nil && e.kind == fdUnixSock {
		return done(unixAccept(e, a[1], a[2], flags))
	}
	if unixOf(a[0]) != nil {
		return done(-_EINVAL)
	}
	e, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	if s.Flags.Load()&socktab.Listening == 0 {
		return done(-_EINVAL)
	}
	h := s.AccHead.Load()
	if h == s.AccTail.Load() {
		if e.flags&_O_NONBLOCK != 0 || !parkCall(t, waitSock, sockK[e.handle].rcvTimeo) {
			return done(-_EAGAIN)
		}
		return 0, sysRestart
	}
	fd := fdAlloc(fdSocket)
	if fd < 0 {
		return done(fd) // the connection stays queued, as on Linux
	}
	idx := uint32(s.Acc[h%socktab.AcceptMax])
	s.AccHead.Store(h + 1)
	if idx >= socktab.Max {
		fdDrop(fd)
		return done(-_ECONNABORTED) // the stack's queue is corrupt; Linux's word for a lost connection
	}
	c := &socktab.Socks[idx]
	c.State.Store(socktab.Open)
	l := &sockK[e.handle]
	sockK[idx] = sockKernel{rcvTimeo: l.rcvTimeo, sndTimeo: l.sndTimeo} // inherited, as on Linux
	fdAt(fd).handle = idx
	fdAt(fd).flags = uint32(flags & _O_NONBLOCK)
	fdCloexec(fd, a[3])
	if r := putAddr(&c.Remote, c.RemoteLen, a[1], a[2]); r < 0 {
		return done(r) // Linux too returns EFAULT with the connection accepted
	}
	return done(fd)
}

func sysGetsockname(t *thread, a sysArgs) (int64, sysResult) {
	if netlinkFd(a[0]) != nil {
		return done(netlinkName(netlinkPid, a[1], a[2]))
	}
	if e := unixOf(a[0]); e != nil {
		return done(unixName(e, false, a[1], a[2]))
	}
	if u := usockOf(a[0]); u != nil {
		return done(u.addr.put(a[1], a[2]))
	}
	_, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	if s.LocalLen == 0 {
		// Unbound: the family's any address, port 0.
		var z [socktab.AddrMax]byte
		z[0] = byte(s.Family)
		n := uint32(16)
		if s.Family == _AF_INET6 {
			n = 28
		}
		return done(putAddr(&z, n, a[1], a[2]))
	}
	return done(putAddr(&s.Local, s.LocalLen, a[1], a[2]))
}

func sysGetpeername(t *thread, a sysArgs) (int64, sysResult) {
	if e := unixOf(a[0]); e != nil {
		return done(unixName(e, true, a[1], a[2]))
	}
	if usockOf(a[0]) != nil {
		return done(-_ENOTCONN)
	}
	_, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	if s.Flags.Load()&socktab.Connected == 0 || s.RemoteLen == 0 {
		return done(-_ENOTCONN)
	}
	return done(putAddr(&s.Remote, s.RemoteLen, a[1], a[2]))
}

// sockOpt maps a (level, name) to the index of the option socktab
// records, or -1.
func sockOpt(level, name int) int {
	switch level {
	case _SOL_SOCKET:
		switch name {
		case _SO_REUSEADDR:
			return socktab.OptReuseAddr
		case _SO_REUSEPORT:
			return socktab.OptReusePort
		case _SO_KEEPALIVE:
			return socktab.OptKeepAlive
		case _SO_BROADCAST:
			return socktab.OptBroadcast
		case _SO_RCVBUF:
			return socktab.OptRcvBuf
		case _SO_SNDBUF:
			return socktab.OptSndBuf
		case _SO_LINGER:
			return socktab.OptLinger
		}
	case _IPPROTO_TCP:
		switch name {
		case _TCP_NODELAY:
			return socktab.OptNoDelay
		case _TCP_KEEPIDLE:
			return socktab.OptKeepIdle
		case _TCP_KEEPINTVL:
			return socktab.OptKeepIntvl
		case _TCP_KEEPCNT:
			return socktab.OptKeepCnt
		}
	case _IPPROTO_IPV6:
		if name == _IPV6_V6ONLY {
			return socktab.OptV6Only
		}
	}
	return -1
}

// sockTimeo is where socket k keeps the timeout option (level, name)
// (SO_RCVTIMEO, SO_SNDTIMEO), or nil for another option.
func sockTimeo(k *sockKernel, level, name int) *int64 {
	if level != _SOL_SOCKET {
		return nil
	}
	switch name {
	case _SO_RCVTIMEO, _SO_RCVTIMEO_2:
		return &k.rcvTimeo
	case _SO_SNDTIMEO, _SO_SNDTIMEO_2:
		return &k.sndTimeo
	}
	return nil
}

// setTimeo sets timeout option p from the program's struct timeval at
// val (n bytes), with Linux's rules: microseconds out of range are EDOM,
// zero is no timeout, a negative time is the shortest.
func setTimeo(p *int64, val, n uintptr) int64 {
	var tv [2]int64
	switch {
	case n < 16:
		return -_EINVAL
	case !copyIn(unsafe.Pointer(&tv), val, 16):
		return -_EFAULT
	case tv[1] < 0 || tv[1] >= 1_000_000:
		return -_EDOM
	case tv[0] < 0:
		*p = 1
	case tv[0] > 1<<32:
		*p = 0 // over a century: Linux too waits for ever
	default:
		*p = tv[0]*1_000_000_000 + tv[1]*1000
	}
	return 0
}

func sysSetsockopt(t *thread, a sysArgs) (int64, sysResult) {
	if unixOf(a[0]) != nil || usockOf(a[0]) != nil {
		return done(unixSetsockopt(int(a[1]), int(a[2]), a[4]))
	}
	e, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	level, name, val, n := int(a[1]), int(a[2]), a[3], a[4]
	if p := sockTimeo(&sockK[e.handle], level, name); p != nil {
		return done(setTimeo(p, val, n))
	}
	o := sockOpt(level, name)
	if o < 0 {
		if level == _IPPROTO_IP || level == _IPPROTO_IPV6 {
			return done(0) // TOS, TTL, multicast...: accepted, not applied
		}
		return done(-_ENOPROTOOPT)
	}
	if n < 4 {
		return done(-_EINVAL)
	}
	var v [2]int32
	if !copyIn(unsafe.Pointer(&v), val, min(n, 8)) {
		return done(-_EFAULT)
	}
	x := v[0]
	switch o {
	case socktab.OptLinger:
		if n < 8 {
			return done(-_EINVAL)
		}
		x = v[1] & 0x7fffffff
		if v[0] != 0 {
			x |= -1 << 31
		}
	case socktab.OptKeepIdle, socktab.OptKeepIntvl, socktab.OptKeepCnt:
		if x < 1 || x > 32767 {
			return done(-_EINVAL)
		}
	case socktab.OptRcvBuf, socktab.OptSndBuf:
		x = max(x, 1152) * 2 // Linux doubles it and keeps a minimum
	}
	s.Opt[o].Store(x)
	ring(s, socktab.ReqOpts)
	return done(0)
}

func sysGetsockopt(t *thread, a sysArgs) (int64, sysResult) {
	if unixOf(a[0]) != nil {
		return done(unixGetsockopt(int(a[1]), int(a[2]), a[3], a[4]))
	}
	if u := usockOf(a[0]); u != nil {
		return done(unixSockGetsockopt(u, int(a[1]), int(a[2]), a[3], a[4]))
	}
	e, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	level, name, val, lenp := int(a[1]), int(a[2]), a[3], a[4]
	if p := sockTimeo(&sockK[e.handle], level, name); p != nil {
		tv := [2]int64{*p / 1_000_000_000, *p % 1_000_000_000 / 1000}
		return done(putOpt(val, lenp, unsafe.Pointer(&tv), 16))
	}
	var v [2]int32
	size := uint32(4)
	switch o := sockOpt(level, name); {
	case level == _SOL_SOCKET && name == _SO_ERROR:
		v[0] = int32(s.Err.Swap(0))
	case level == _SOL_SOCKET && name == _SO_TYPE:
		v[0] = int32(s.Type)
	case level == _SOL_SOCKET && name == _SO_DOMAIN:
		v[0] = int32(s.Family)
	case level == _SOL_SOCKET && name == _SO_PROTOCOL:
		v[0] = _IPPROTO_TCP
		if s.Type == _SOCK_DGRAM {
			v[0] = _IPPROTO_UDP
		}
	case level == _SOL_SOCKET && name == _SO_ACCEPTCONN:
		if s.Flags.Load()&socktab.Listening != 0 {
			v[0] = 1
		}
	case o == socktab.OptLinger:
		x := s.Opt[o].Load()
		v[0], v[1] = int32(uint32(x)>>31), x&0x7fffffff
		size = 8
	case o == socktab.OptRcvBuf || o == socktab.OptSndBuf:
		v[0] = s.Opt[o].Load()
		if v[0] == 0 {
			v[0] = defaultSockBuf
		}
	case o >= 0:
		v[0] = s.Opt[o].Load()
	default:
		return done(-_ENOPROTOOPT)
	}
	return done(putOpt(val, lenp, unsafe.Pointer(&v), size))
}

// putOpt writes an option's value (size bytes at p) to the program's
// val, with its length at lenp (value-result: at most what it says).
func putOpt(val, lenp uintptr, p unsafe.Pointer, size uint32) int64 {
	ul, ok := getU32(lenp)
	if !ok {
		return -_EFAULT
	}
	if int32(ul) < 0 {
		return -_EINVAL
	}
	size = min(size, ul)
	if !copyOut(val, p, uintptr(size)) || !copyOut(lenp, unsafe.Pointer(&size), 4) {
		return -_EFAULT
	}
	return 0
}

func sysShutdown(t *thread, a sysArgs) (int64, sysResult) {
	if e := unixOf(a[0]); e != nil {
		return done(unixShutdown(e, a[1]))
	}
	if usockOf(a[0]) != nil {
		if a[1] > _SHUT_RDWR {
			return done(-_EINVAL)
		}
		return done(0) // as Linux: nothing to shut down yet
	}
	_, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	if s.Flags.Load()&(socktab.Connected|socktab.Listening) == 0 {
		return done(-_ENOTCONN)
	}
	var req uint32
	switch a[1] {
	case _SHUT_RD:
		req = socktab.ReqShutRd
	case _SHUT_WR:
		req = socktab.ReqShutWr
	case _SHUT_RDWR:
		req = socktab.ReqShutRd | socktab.ReqShutWr
	default:
		return done(-_EINVAL)
	}
	if req&socktab.ReqShutWr != 0 && s.Type == _SOCK_STREAM {
		// Nothing more can be sent from now on (EPIPE), as on Linux;
		// the stack sends the FIN once it has taken what Tx holds.
		s.Flags.Or(socktab.TxShut)
	}
	ring(s, req)
	return done(0)
}

// ubuf is the program's buffer of an I/O call: one buffer (read, write,
// sendto, recvfrom) or an iovec array (readv, writev, sendmsg, recvmsg).
type ubuf struct {
	iov       uintptr // the iovec array; 0 for the one buffer
	cnt       int     // the iovecs (segIO: 1 for the one buffer)
	base, len uintptr
}

const maxIOV = 1024 // UIO_MAXIOV

// seg returns segment i of u.
func (u *ubuf) seg(i int) (uintptr, uintptr, bool) {
	if u.iov == 0 {
		return u.base, u.len, true
	}
	var v [2]uint64
	if !copyIn(unsafe.Pointer(&v), u.iov+uintptr(i)*16, 16) {
		return 0, 0, false
	}
	return uintptr(v[0]), uintptr(v[1]), true
}

// total is u's length, or an errno.
func (u *ubuf) total() int64 {
	if u.iov == 0 {
		return int64(min(u.len, 1<<30))
	}
	if u.cnt < 0 || u.cnt > maxIOV {
		return -_EINVAL
	}
	var n uintptr
	for i := 0; i < u.cnt; i++ {
		_, l, ok := u.seg(i)
		if !ok {
			return -_EFAULT
		}
		n += l
		if int64(n) < 0 {
			return -_EINVAL
		}
	}
	return int64(min(n, 1<<30))
}

// xfer copies n bytes between ring r, from its offset pos on, and u,
// from offset off of u on (toUser: ring to u).
func xfer(r *socktab.Ring, pos uint32, u *ubuf, off, n uintptr, toUser bool) bool {
	nseg := u.cnt
	if u.iov == 0 {
		nseg = 1
	}
	for i := 0; i < nseg && n > 0; i++ {
		b, l, ok := u.seg(i)
		if !ok {
			return false
		}
		if off >= l {
			off -= l
			continue
		}
		c := min(l-off, n)
		if !ringUser(r, pos, b+off, c, toUser) {
			return false
		}
		pos += uint32(c)
		n -= c
		off = 0
	}
	return true
}

// ringUser copies n bytes between ring r at pos and the program's
// memory at va, both program memory, a page at a time.
func ringUser(r *socktab.Ring, pos uint32, va, n uintptr, toUser bool) bool {
	if !ringOK(r) {
		return false
	}
	for n > 0 {
		o := uintptr(pos & (r.Size - 1))
		rva := r.Buf + o
		pa := translate(rva)
		if pa == 0 {
			return false
		}
		c := min(n, uintptr(r.Size)-o, pageSize-rva&(pageSize-1))
		var ok bool
		if toUser {
			ok = copyOut(va, ptr(pa), c)
		} else {
			ok = copyIn(ptr(pa), va, c)
		}
		if !ok {
			return false
		}
		pos += uint32(c)
		va += c
		n -= c
	}
	return true
}

// ringOK reports whether the stack set ring r up (a power of two).
func ringOK(r *socktab.Ring) bool { return r.Size != 0 && r.Size&(r.Size-1) == 0 && r.Buf != 0 }

// ringKernel copies n bytes between ring r at pos and the kernel's p.
func ringKernel(r *socktab.Ring, pos uint32, p unsafe.Pointer, n uintptr, toRing bool) bool {
	if !ringOK(r) {
		return false
	}
	for n > 0 {
		o := uintptr(pos & (r.Size - 1))
		rva := r.Buf + o
		c := min(n, uintptr(r.Size)-o, pageSize-rva&(pageSize-1))
		var ok bool
		if toRing {
			ok = copyOut(rva, p, c)
		} else {
			ok = copyIn(p, rva, c)
		}
		if !ok {
			return false
		}
		pos += uint32(c)
		p = unsafe.Add(p, c)
		n -= c
	}
	return true
}

// sockRecv receives into u: stream bytes, or one datagram whose source
// goes to from/fromLen. It returns the count (or the datagram's full
// length with _MSG_TRUNC in flags) and whether the datagram was
// truncated, or an errno (-EAGAIN when there is nothing yet).
func sockRecv(s *socktab.Sock, u *ubuf, flags int, from, fromLen uintptr) (int64, bool) {
	want := u.total()
	if want < 0 {
		return want, false
	}
	r := &s.Rx
	f := s.Flags.Load()
	if f&socktab.Ready == 0 || r.Len() == 0 {
		if err := s.Err.Swap(0); err != 0 {
			return -int64(err), false
		}
		if f&socktab.RxEOF != 0 {
			return 0, false
		}
		if s.Type == _SOCK_STREAM && f&(socktab.Connected|socktab.Connecting) == 0 {
			return -_ENOTCONN, false
		}
		return -_EAGAIN, false
	}
	head := r.Head.Load()
	var n, adv uintptr
	trunc := false
	if s.Type == _SOCK_STREAM {
		n = min(uintptr(want), uintptr(r.Len()))
		adv = n
		if !xfer(r, head, u, 0, n, true) {
			return -_EFAULT, false
		}
		if from != 0 && putAddr(&s.Remote, s.RemoteLen, from, fromLen) < 0 {
			return -_EFAULT, false
		}
	} else {
		var h [socktab.DgramHeader]byte
		if !ringKernel(r, head, unsafe.Pointer(&h), socktab.DgramHeader, false) {
			return -_EFAULT, false
		}
		l := uintptr(h[0]) | uintptr(h[1])<<8 | uintptr(h[2])<<16 | uintptr(h[3])<<24
		al := uint32(h[4]) | uint32(h[5])<<8
		if uintptr(r.Len()) < socktab.DgramHeader+l {
			r.Head.Store(r.Tail.Load()) // not a datagram the stack wrote: drop what is there
			return -_EIO, false
		}
		n = min(uintptr(want), l)
		trunc = n < l
		adv = socktab.DgramHeader + l
		if !xfer(r, head+socktab.DgramHeader, u, 0, n, true) {
			return -_EFAULT, false
		}
		addr := (*[socktab.AddrMax]byte)(unsafe.Pointer(&h[8]))
		if from != 0 && putAddr(addr, min(al, socktab.AddrMax), from, fromLen) < 0 {
			return -_EFAULT, false
		}
		if flags&_MSG_TRUNC != 0 {
			n = l
		}
	}
	if flags&_MSG_PEEK == 0 {
		r.Head.Store(head + uint32(adv))
		if s.Flags.Load()&socktab.RxWant != 0 {
			ring(s, socktab.ReqRxSpace)
		}
	}
	return int64(n), trunc
}

// sockSend sends u: stream bytes from offset off of u on, or one
// datagram to the address at to (toLen bytes; none: the connected peer).
// It returns the count, or an errno (-EAGAIN when Tx has no room).
func sockSend(s *socktab.Sock, u *ubuf, off, to, toLen uintptr) int64 {
	want := u.total()
	if want < 0 {
		return want
	}
	if err := s.Err.Swap(0); err != 0 {
		return -int64(err)
	}
	f := s.Flags.Load()
	r := &s.Tx
	if s.Type == _SOCK_STREAM {
		switch {
		case f&socktab.TxShut != 0:
			return -_EPIPE
		case f&socktab.Connecting != 0 || (f&socktab.Connected != 0 && f&socktab.Ready == 0):
			return -_EAGAIN
		case f&socktab.Connected == 0:
			return -_EPIPE
		}
		n := min(uintptr(want)-min(off, uintptr(want)), uintptr(r.Room()))
		if n == 0 {
			if uintptr(want) <= off {
				return 0
			}
			return -_EAGAIN
		}
		tail := r.Tail.Load()
		if !xfer(r, tail, u, off, n, false) {
			return -_EFAULT
		}
		r.Tail.Store(tail + uint32(n))
		ring(s, socktab.ReqTx)
		return int64(n)
	}
	var h [socktab.DgramHeader]byte
	if to != 0 {
		addr := (*[socktab.AddrMax]byte)(unsafe.Pointer(&h[8]))
		al := getAddr(s, to, toLen, addr)
		if al < 0 {
			return al
		}
		h[4] = byte(al)
	} else if f&socktab.Connected == 0 {
		return -_EDESTADDRREQ
	}
	if want > maxDatagram {
		return -_EMSGSIZE
	}
	if f&socktab.Ready == 0 || uintptr(r.Room()) < socktab.DgramHeader+uintptr(want) {
		return -_EAGAIN
	}
	h[0], h[1], h[2], h[3] = byte(want), byte(want>>8), byte(want>>16), byte(want>>24)
	tail := r.Tail.Load()
	if !ringKernel(r, tail, unsafe.Pointer(&h), socktab.DgramHeader, true) || !xfer(r, tail+socktab.DgramHeader, u, 0, uintptr(want), false) {
		return -_EFAULT
	}
	r.Tail.Store(tail + socktab.DgramHeader + uint32(want))
	ring(s, socktab.ReqTx)
	return want
}

// The operations of socket fds (fdOps).

func sockRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if at {
		return -_ESPIPE
	}
	u := ubuf{base: buf, len: n}
	r, _ := sockRecv(&socktab.Socks[e.handle], &u, 0, 0, 0)
	return r
}

// sockWrite is pwrite64 (ESPIPE); write is sockSendCall.
func sockWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if at {
		return -_ESPIPE
	}
	u := ubuf{base: buf, len: n}
	return sockSend(&socktab.Socks[e.handle], &u, 0, 0, 0)
}

// sockWaitRead parks a blocking-mode reader until the stack reports, or
// reports false (SO_RCVTIMEO is over).
func sockWaitRead(e *fdEntry, t *thread) bool {
	return e.flags&_O_NONBLOCK == 0 && parkCall(t, waitSock, sockK[e.handle].rcvTimeo)
}

// sockSendCall is a send on socket fd e (write, writev, sendto,
// sendmsg; flags are send's): on a blocking socket it waits for room in
// Tx until all of u is there (a stream) or the datagram fits, as Linux
// blocks, or until SO_SNDTIMEO ends the wait with what was sent (or
// EAGAIN). Each run sends from where the earlier ones stopped
// (t.call.done).
func sockSendCall(t *thread, e *fdEntry, u *ubuf, to, toLen uintptr, flags int) (int64, sysResult) {
	s := &socktab.Socks[e.handle]
	c := &t.call
	if c.done > 0 && s.Err.Load() != 0 {
		return done(c.done) // the error is for the next call, as Linux reports it after a partial send
	}
	r := sockSend(s, u, uintptr(c.done), to, toLen)
	if r > 0 {
		c.done += r
	}
	more := r == -_EAGAIN || (r > 0 && s.Type == _SOCK_STREAM && c.done < u.total())
	if more && e.flags&_O_NONBLOCK == 0 && flags&_MSG_DONTWAIT == 0 && parkCall(t, waitSock, sockK[e.handle].sndTimeo) {
		return 0, sysRestart
	}
	if c.done > 0 {
		return done(c.done)
	}
	return done(r)
}

// sockLevel is the level-triggered readiness of socket s.
func sockLevel(s *socktab.Sock) uint32 {
	f := s.Flags.Load()
	var ev uint32
	if s.Err.Load() != 0 {
		ev |= _EPOLLERR | _EPOLLIN | _EPOLLOUT
	}
	switch {
	case f&socktab.Listening != 0:
		if s.AccHead.Load() != s.AccTail.Load() {
			ev |= _EPOLLIN
		}
		return ev
	case f&socktab.Ready == 0:
		return ev
	}
	if s.Rx.Len() != 0 {
		ev |= _EPOLLIN
	}
	if f&socktab.RxEOF != 0 {
		ev |= _EPOLLIN | _EPOLLRDHUP
	}
	if s.Type == _SOCK_DGRAM {
		if s.Tx.Room() > socktab.DgramHeader {
			ev |= _EPOLLOUT
		}
		return ev
	}
	switch {
	case f&socktab.Connecting != 0:
	case f&socktab.Connected == 0:
		ev |= _EPOLLOUT | _EPOLLHUP // Linux: an unconnected stream socket
	case f&socktab.TxShut != 0:
		ev |= _EPOLLOUT
		if f&socktab.RxEOF != 0 {
			ev |= _EPOLLHUP
		}
	case s.Tx.Room() != 0:
		ev |= _EPOLLOUT
	}
	return ev
}

const (
	sockInEvents  = _EPOLLIN | _EPOLLRDHUP | _EPOLLHUP | _EPOLLERR
	sockOutEvents = _EPOLLOUT | _EPOLLHUP | _EPOLLERR
)

// sockReady is the socket's epoll readiness: level, or for EPOLLET each
// direction once per generation the stack reports.
func sockReady(e *fdEntry, w *watch) uint32 {
	s := &socktab.Socks[e.handle]
	lv := sockLevel(s)
	if w.events&_EPOLLET == 0 {
		return lv
	}
	var ev uint32
	if g := s.RxGen.Load(); lv&sockInEvents&w.events != 0 && w.seenRx != g {
		ev |= lv & sockInEvents
		w.seenRx = g
	}
	if g := s.TxGen.Load(); lv&sockOutEvents&w.events != 0 && w.seenTx != g {
		ev |= lv & sockOutEvents
		w.seenTx = g
	}
	return ev
}

// sockCloseWait makes close wait (up to a second) until the stack has
// taken what Tx holds: the program may exit right after closing, and the
// stack's goroutines end with it (on Linux the kernel sends the data
// after the process is gone). It reports whether t was parked (close
// then runs again).
func sockCloseWait(e *fdEntry, t *thread) bool {
	s, k := &socktab.Socks[e.handle], &sockK[e.handle]
	n := now()
	if s.Tx.Len() == 0 || s.Flags.Load()&socktab.Ready == 0 || (k.closeBy != 0 && n >= k.closeBy) {
		k.closeBy = 0
		return false
	}
	if k.closeBy == 0 {
		k.closeBy = n + 1_000_000_000
	}
	park(t, waitSock, k.closeBy)
	return true
}

// sockClose hands the socket to the stack to release.
func sockClose(e *fdEntry) {
	s := &socktab.Socks[e.handle]
	s.State.Store(socktab.Closing)
	ring(s, socktab.ReqClose)
}

func sockStat(e *fdEntry) statInfo {
	return statInfo{mode: 0o140777, blksize: pageSize} // S_IFSOCK
}

// sockFcntl keeps O_NONBLOCK (F_GETFL reports O_RDWR too).
func sockFcntl(e *fdEntry, cmd int, arg uintptr) int64 {
	switch cmd {
	case _F_GETFL:
		return int64(e.flags) | 2
	case _F_SETFL:
		e.flags = e.flags&^_O_NONBLOCK | uint32(arg)&_O_NONBLOCK
	}
	return 0
}

// The system calls with addresses and flags.

func sysSendto(t *thread, a sysArgs) (int64, sysResult) {
	if e := netlinkFd(a[0]); e != nil {
		return done(netlinkWrite(e, a[1], a[2], 0, false))
	}
	if e := unixOf(a[0]); e != nil {
		u := ubuf{base: a[1], len: a[2], cnt: 1}
		return done(unixSend(a[0], &u, a[4] != 0 && a[5] != 0, int(a[3])))
	}
	e, _, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	u := ubuf{base: a[1], len: a[2]}
	return sockSendCall(t, e, &u, a[4], a[5], int(a[3]))
}

func sysRecvfrom(t *thread, a sysArgs) (int64, sysResult) {
	if e := netlinkFd(a[0]); e != nil {
		n := netlinkRead(e, a[1], a[2], 0, false)
		if n >= 0 {
			if r := netlinkName(0, a[4], a[5]); r < 0 {
				return done(r)
			}
		}
		return done(n)
	}
	if e := unixOf(a[0]); e != nil {
		u := ubuf{base: a[1], len: a[2], cnt: 1}
		return done(unixRecv(a[0], e, &u, int(a[3]), a[4], a[5]))
	}
	e, s, r := sockOf(a[0])
	if r < 0 {
		return done(r)
	}
	u := ubuf{base: a[1], len: a[2]}
	n, _ := sockRecv(s, &u, int(a[3]), a[4], a[5])
	if n == -_EAGAIN && int(a[3])&_MSG_DONTWAIT == 0 && sockWaitRead(e, t) {
		return 0, sysRestart
	}
	return done(n)
}

// msghdr is struct msghdr.
type msghdr struct {
	name       uint64
	namelen    uint32
	_          uint32
	iov        uint64
	iovlen     uint64
	control    uint64
	controllen uint64
	flags      int32
	_          int32
}

// msgOf reads the struct msghdr at va for the socket of fd.
func msgOf(fd, va uintptr) (*fdEntry, *socktab.Sock, msghdr, ubuf, int64) {
	var m msghdr
	e, s, r := sockOf(fd)
	if r < 0 {
		return nil, nil, m, ubuf{}, r
	}
	if !copyIn(unsafe.Pointer(&m), va, unsafe.Sizeof(m)) {
		return nil, nil, m, ubuf{}, -_EFAULT
	}
	return e, s, m, ubuf{iov: uintptr(m.iov), cnt: int(m.iovlen)}, 0
}

func sysSendmsg(t *thread, a sysArgs) (int64, sysResult) {
	if unixOf(a[0]) != nil {
		return done(unixSendmsg(a[0], a[1], int(a[2])))
	}
	e, _, m, u, r := msgOf(a[0], a[1])
	if r < 0 {
		return done(r)
	}
	to := uintptr(m.name)
	if m.namelen == 0 {
		to = 0
	}
	return sockSendCall(t, e, &u, to, uintptr(m.namelen), int(a[2]))
}

func sysRecvmsg(t *thread, a sysArgs) (int64, sysResult) {
	if e := unixOf(a[0]); e != nil {
		return done(unixRecvmsg(a[0], e, a[1], int(a[2])))
	}
	e, s, m, u, r := msgOf(a[0], a[1])
	if r < 0 {
		return done(r)
	}
	lenp := uintptr(0)
	if m.name != 0 {
		lenp = a[1] + unsafe.Offsetof(m.namelen)
	}
	n, trunc := sockRecv(s, &u, int(a[2]), uintptr(m.name), lenp)
	if n == -_EAGAIN && int(a[2])&_MSG_DONTWAIT == 0 && sockWaitRead(e, t) {
		return 0, sysRestart
	}
	if n >= 0 {
		var tail [2]uint64 // controllen 0; flags
		if trunc {
			tail[1] = _MSG_TRUNC
		}
		if !copyOut(a[1]+unsafe.Offsetof(m.controllen), unsafe.Pointer(&tail), 12) {
			return done(-_EFAULT)
		}
	}
	return done(n)
}

// readv and writev, for every kind of fd: one read or write per
// segment through the kind's operations, stopping at a short one.
func sysReadv(t *thread, a sysArgs) (int64, sysResult) {
	return iovIO(t, a, false)
}

func sysWritev(t *thread, a sysArgs) (int64, sysResult) {
	return iovIO(t, a, true)
}

func iovIO(t *thread, a sysArgs, write bool) (int64, sysResult) {
	e := fdGet(a[0])
	if e == nil {
		return done(-_EBADF)
	}
	u := ubuf{iov: a[1], cnt: int(a[2])}
	if tot := u.total(); tot < 0 {
		return done(tot)
	}
	if e.kind == fdSocket {
		s := &socktab.Socks[e.handle]
		if write {
			return sockSendCall(t, e, &u, 0, 0, 0)
		}
		n, _ := sockRecv(s, &u, 0, 0, 0)
		if n == -_EAGAIN && sockWaitRead(e, t) {
			return 0, sysRestart
		}
		return done(n)
	}
	return done(segIO(a[0], &u, write))
}

// segIO is a read or write of the segments of u on fd through its
// kind's operations, one per segment, stopping at a short one.
func segIO(fd uintptr, u *ubuf, write bool) int64 {
	var total int64
	for i := 0; i < u.cnt; i++ {
		b, l, _ := u.seg(i)
		if l == 0 {
			continue
		}
		r := fdIO(fd, b, l, 0, false, write)
		if r < 0 {
			if total > 0 {
				break
			}
			return r
		}
		total += r
		if uintptr(r) < l {
			break
		}
	}
	return total
}

// The doorbell: the stack's fd (/dev/unimon/sockets). A read returns
// how many requests were made since the last read (8 bytes, like an
// eventfd) or EAGAIN; any write reports that the stack changed sockets.

func bellOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	if string(rel) != "sockets" {
		return -_ENOENT
	}
	if bell.open {
		return -_EBUSY
	}
	fd := fdAlloc(fdSockBell)
	if fd >= 0 {
		bell.open = true
		fdAt(fd).flags = uint32(flags & _O_NONBLOCK)
	}
	return fd
}

func bellRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	return counterRead(&bell.count, buf, n, at)
}

// bellWrite is a report of the stack, like Changed.
func bellWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	socktab.Changed.Store(1)
	sockChanged()
	return int64(n)
}

// sockChanged takes the stack's report (socktab.Changed): readiness is
// evaluated again and the threads waiting for a socket run their call
// again.
func sockChanged() {
	if socktab.Changed.Load() == 0 {
		return
	}
	socktab.Changed.Store(0)
	readinessChanged = true
	for i := range slots() {
		if t := &threads[i]; t.state == tBlocked && t.wait == waitSock {
			wake(i, 0)
		}
	}
}

func bellReady(e *fdEntry, w *watch) uint32 {
	if bell.count == 0 {
		return 0
	}
	if w.events&_EPOLLET != 0 {
		if w.seenRx == bell.gen {
			return 0
		}
		w.seenRx = bell.gen
	}
	return _EPOLLIN
}

func bellClose(e *fdEntry) { bell.open = false }
