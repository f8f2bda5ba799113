//go:build linux

package bindings

import "unsafe"

// AF_UNIX socketpair(2), stream only: a connected pair of sockets
// between threads of the program, made of two pipes (pipe.go), one each
// way; no network stack takes part. An end's handle is the pipe it reads
// (low half) and the pipe it writes (high half). Shutdown closes a
// direction as the pipes' ends do: SHUT_WR gives the peer end of file
// and this end EPIPE on write, SHUT_RD the peer EPIPE on write. Like a
// pipe, a blocking read of an empty end returns EAGAIN rather than
// waiting (net.FileConn and os.NewFile make it non-blocking). Named
// unix sockets (unixsock.go) connect to ends of this kind.

const (
	_AF_UNIX = 1
	pairHalf = 16 // bits of a pipe index in an end's handle
)

// unixPipes returns the pipes end e reads and writes.
func unixPipes(e *fdEntry) (in, out *pipe) {
	return &pipes[e.handle&(1<<pairHalf-1)], &pipes[e.handle>>pairHalf]
}

func sysSocketpair(t *thread, a sysArgs) (int64, sysResult) {
	domain, typ, proto := int(a[0]), int(a[1]), int(a[2])
	switch st := typ &^ (_SOCK_NONBLOCK | _SOCK_CLOEXEC); {
	case domain != _AF_UNIX:
		return done(-_EOPNOTSUPP) // as Linux says for AF_INET
	case st != _SOCK_STREAM:
		return done(-_ESOCKTNOSUPPORT) // datagram and seqpacket pairs are not made here
	case proto != 0 && proto != _AF_UNIX: // PF_UNIX names the one protocol, as in socket
		return done(-_EPROTONOSUPPORT)
	}
	p, q, r := unixPairNew()
	if r < 0 {
		return done(r)
	}
	x := fdAlloc(fdUnix)
	if x < 0 {
		return done(pairFail(p, q, x))
	}
	y := fdAlloc(fdUnix)
	if y < 0 {
		fdDrop(x)
		return done(pairFail(p, q, y))
	}
	flags := uint32(typ & _O_NONBLOCK) // sockFcntl adds O_RDWR
	fdAt(x).handle, fdAt(x).flags = p|q<<pairHalf, flags
	fdAt(y).handle, fdAt(y).flags = q|p<<pairHalf, flags
	out := [2]int32{int32(x), int32(y)}
	if !copyOut(a[3], unsafe.Pointer(&out), 8) {
		fdDrop(x)
		fdDrop(y)
		return done(pairFail(p, q, -_EFAULT))
	}
	fdCloexec(x, a[1])
	fdCloexec(y, a[1])
	return done(0)
}

// unixPairNew takes the two pipes of a connection, open at both ends,
// its ends unnamed; or returns an errno.
func unixPairNew() (p, q uint32, errno int64) {
	p, errno = pipeNew()
	if errno < 0 {
		return 0, 0, errno
	}
	if q, errno = pipeNew(); errno < 0 {
		pipeFree(&pipes[p])
		return 0, 0, errno
	}
	for _, h := range [2]uint32{p, q} {
		pipes[h].readers, pipes[h].writers, pipes[h].ends = 1, 1, 2
		unixNames[h].local, unixNames[h].peer = unixAddr{}, unixAddr{}
	}
	return p, q, 0
}

// pairFail frees the pipes of a socketpair that failed and returns r.
func pairFail(p, q uint32, r int64) int64 {
	pipeFree(&pipes[p])
	pipeFree(&pipes[q])
	return r
}

func unixRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if in, _ := unixPipes(e); in.readers == 0 && in.count == 0 && !at {
		return 0 // shut down for reading, and nothing left: end of file
	}
	return pipeReadFrom(e.handle&(1<<pairHalf-1), buf, n, at)
}

func unixWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if _, out := unixPipes(e); out.writers == 0 && !at {
		return -_EPIPE // shut down for writing
	}
	return pipeWriteTo(e.handle>>pairHalf, buf, n, at)
}

// unixReady is the epoll readiness of an end, as Linux's: a direction
// shut down at either end reads as end of file (EPOLLRDHUP) or writes
// at once (EPOLLOUT, with EPIPE), both as EPOLLHUP. Edge-triggered
// watches see it once per change.
func unixReady(e *fdEntry, w *watch) uint32 {
	in, out := unixPipes(e)
	rdShut, wrShut := in.writers == 0 || in.readers == 0, out.writers == 0 || out.readers == 0
	var ev uint32
	if in.count > 0 || rdShut {
		ev |= _EPOLLIN
	}
	if rdShut {
		ev |= _EPOLLRDHUP
	}
	if out.count < pipeSize || wrShut {
		ev |= _EPOLLOUT
	}
	if rdShut && wrShut {
		ev |= _EPOLLHUP
	}
	return pipeEdge(w, ev)
}

// unixShutdown is shutdown of an end.
func unixShutdown(e *fdEntry, how uintptr) int64 {
	in, out := unixPipes(e)
	switch how {
	case _SHUT_RD:
		in.readers = 0
	case _SHUT_WR:
		out.writers = 0
	case _SHUT_RDWR:
		in.readers, out.writers = 0, 0
	default:
		return -_EINVAL
	}
	pipeChanged(e.handle & (1<<pairHalf - 1))
	pipeChanged(e.handle >> pairHalf)
	return 0
}

// unixClose closes both directions of the end; a pipe goes with the
// second end that closes.
func unixClose(e *fdEntry) {
	unixShutdown(e, _SHUT_RDWR)
	for _, p := range [2]uint32{e.handle & (1<<pairHalf - 1), e.handle >> pairHalf} {
		if pipes[p].ends--; pipes[p].ends == 0 {
			pipeFree(&pipes[p])
		}
	}
}

// unixOf returns fd's description if it is an end of a socketpair.
func unixOf(fd uintptr) *fdEntry {
	if e := fdGet(fd); e != nil && e.kind == fdUnix {
		return e
	}
	return nil
}

// unixName is getsockname (peer false) and getpeername of an end: a
// socketpair's are unnamed (the family alone).
func unixName(e *fdEntry, peer bool, addr, lenp uintptr) int64 {
	n := &unixNames[e.handle&(1<<pairHalf-1)]
	if peer {
		return n.peer.put(addr, lenp)
	}
	return n.local.put(addr, lenp)
}

// unixGetsockopt answers what net asks of a socket's fd: its type,
// domain and pending error (none).
func unixGetsockopt(level, name int, val, lenp uintptr) int64 {
	var v int32
	switch {
	case level == _SOL_SOCKET && name == _SO_ERROR, level == _SOL_SOCKET && name == _SO_PROTOCOL:
	case level == _SOL_SOCKET && name == _SO_TYPE:
		v = _SOCK_STREAM
	case level == _SOL_SOCKET && name == _SO_DOMAIN:
		v = _AF_UNIX
	case level == _SOL_SOCKET && (name == _SO_RCVBUF || name == _SO_SNDBUF):
		v = defaultSockBuf
	default:
		return -_ENOPROTOOPT
	}
	return putOpt(val, lenp, unsafe.Pointer(&v), 4)
}
