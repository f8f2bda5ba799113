//go:build linux

package bindings

import "unsafe"

// Named unix-domain stream sockets: socket(AF_UNIX, SOCK_STREAM), bind,
// listen, connect and accept4 between threads of the program, with no
// network stack (net.Listen("unix", ...) and net.Dial work without
// one). A socket not yet connected (made, bound, or listening) is an
// fdUnixSock whose handle indexes usocks; connect makes a connection at
// once (as Linux does while the listener's queue has room): a pair of
// socketpair's ends (fdUnix, unixpair.go), two pipes, the connecting fd
// becoming one end and the other waiting in the listener's queue for
// accept4. Each end's addresses (getsockname, getpeername) are kept by
// the pipe it reads, which is its own.
//
// Names: a path (relative ones against the cwd, as every path) becomes a
// socket node of its file system (stat says S_IFSOCK, unlink removes
// it; only /tmp, the writable mount, has them: elsewhere bind fails as
// mkdir would), found again by connect through its inode; an abstract
// name (sun_path[0] == 0, Go's "@name") is a name in usocks alone, gone
// with its socket. As on Linux, bind of an existing path or a taken
// abstract name is EADDRINUSE, connect to a missing path ENOENT and to
// a name nobody listens on ECONNREFUSED, and a closed listener leaves
// its node behind (Go's UnixListener.Close unlinks it).
//
// Differences from Linux: a blocking accept4 with nothing queued and a
// connect to a full queue return EAGAIN rather than waiting (as a
// blocking read of a pipe does here; Go's net package never blocks in
// them); listen without bind is EINVAL (Linux's answer too), and there
// is no autobind on connect: an unbound client is unnamed. Datagram and
// seqpacket unix sockets are not made (ESOCKTNOSUPPORT), nor are fds
// passed (sendmsg with control data is EOPNOTSUPP), and send and
// receive flags other than MSG_DONTWAIT and MSG_NOSIGNAL (MSG_PEEK,
// MSG_WAITALL, MSG_OOB) are EOPNOTSUPP.

const (
	_ENXIO        = 6
	_EADDRINUSE   = 98
	_ECONNREFUSED = 111
	_S_IFSOCK     = 0o140000

	maxUnixSocks = 64
	// unixAddrMax is sizeof(struct sockaddr_un) plus the NUL Linux adds
	// after a path that fills sun_path.
	unixAddrMax = 2 + 108 + 1
	// unixQueueMax bounds the connections waiting for accept4 (listen's
	// backlog is clamped to it).
	unixQueueMax = 16
	// unixSockMode is a socket node's permissions: 0777 less a umask of
	// 022, as Linux makes them.
	unixSockMode = 0o755
)

// unixAddr is a unix socket address as getsockname gives it: the first
// n bytes of b, family first; n == 0 is the unnamed address.
type unixAddr struct {
	n uint32
	b [unixAddrMax]byte
}

// usock is a unix socket not yet connected.
type usock struct {
	used, listening bool
	addr            unixAddr // the bound name; n == 0: unbound
	dev, ino        uint64   // a path name's node; ino 0: none
	backlog         uint32
	queue           [unixQueueMax]uint32 // fdUnix handles waiting for accept4
	head, queued    uint32
}

var usocks [maxUnixSocks]usock

// unixNames are the addresses of connected ends, by the pipe the end
// reads; a socketpair's ends are unnamed.
var unixNames [maxPipes]struct{ local, peer unixAddr }

// put writes a to the program's addr, its length at lenp (putSockaddr).
func (a *unixAddr) put(addr, lenp uintptr) int64 {
	if a.n < 2 {
		u := unixAddr{n: 2}
		u.b[0] = _AF_UNIX
		return putSockaddr(u.b[:2], addr, lenp)
	}
	return putSockaddr(a.b[:a.n], addr, lenp)
}

// abstract says whether a names a socket in the abstract namespace.
func (a *unixAddr) abstract() bool { return a.n > 2 && a.b[2] == 0 }

// unixSocket is socket(AF_UNIX, typ, proto).
func unixSocket(typ, proto int) int64 {
	switch st := typ &^ (_SOCK_NONBLOCK | _SOCK_CLOEXEC); {
	case st != _SOCK_STREAM:
		return -_ESOCKTNOSUPPORT // datagram and seqpacket are not made here
	case proto != 0 && proto != _AF_UNIX: // PF_UNIX names the one protocol
		return -_EPROTONOSUPPORT
	}
	for i := range usocks {
		if !usocks[i].used {
			fd := fdAlloc(fdUnixSock)
			if fd < 0 {
				return fd
			}
			usocks[i] = usock{used: true}
			fdAt(fd).handle, fdAt(fd).flags = uint32(i), uint32(typ&_O_NONBLOCK)
			return fdCloexec(fd, uintptr(typ))
		}
	}
	return -_ENFILE
}

// usockOf returns fd's unconnected unix socket, or nil.
func usockOf(fd uintptr) *usock {
	if e := fdGet(fd); e != nil && e.kind == fdUnixSock {
		return &usocks[e.handle]
	}
	return nil
}

// getUnixAddr reads the program's sockaddr_un at addr (n bytes) into a,
// with Linux's checks (unix_validate_addr); a path is cut at its NUL and
// counted with one, as Linux keeps it.
func getUnixAddr(addr, n uintptr, a *unixAddr) int64 {
	// Linux copies up to a sockaddr_storage before it checks the length.
	var raw [128]byte
	switch {
	case n > uintptr(len(raw)):
		return -_EINVAL
	case n > 0 && !copyIn(unsafe.Pointer(&raw), addr, n):
		return -_EFAULT
	case n < 2 || n > unixAddrMax-1 || raw[0] != _AF_UNIX || raw[1] != 0:
		return -_EINVAL
	}
	*a = unixAddr{}
	copy(a.b[:], raw[:n])
	a.n = uint32(n)
	if n > 2 && a.b[2] != 0 {
		l := uint32(2)
		for l < a.n && a.b[l] != 0 {
			l++
		}
		a.n = l + 1 // b[l] is 0: the array has room for it
	}
	return 0
}

// unixPath resolves a's path (not abstract) against the cwd and returns
// its mount and the path in it.
func unixPath(a *unixAddr, follow bool) (int, []byte, int64) {
	var raw [pathMax]byte
	k := copy(raw[:], a.b[2:a.n-1])
	return mountOf(resolveRaw(0, _AT_FDCWD, &raw, k, follow))
}

// unixBind is bind of unconnected socket u.
func unixBind(u *usock, addr, n uintptr) int64 {
	var a unixAddr
	if r := getUnixAddr(addr, n, &a); r < 0 {
		return r
	}
	if u.addr.n != 0 {
		return -_EINVAL // bound already
	}
	if a.n == 2 {
		return unixAutobind(u)
	}
	if a.abstract() {
		if unixAbstractTaken(&a) {
			return -_EADDRINUSE
		}
		u.addr = a
		return 0
	}
	m, rel, errno := unixPath(&a, false)
	if errno != 0 {
		return errno
	}
	if mounts[m].fs.mknod == nil {
		errno = readOnly(m, rel, true)
		if errno == -_ENOENT && unixParentExists(m, rel) {
			errno = -_EROFS // the path could be made on a writable mount
		}
	} else {
		errno = mounts[m].fs.mknod(rel, _S_IFSOCK|unixSockMode)
	}
	if errno == -_EEXIST {
		return -_EADDRINUSE
	}
	if errno != 0 {
		return errno
	}
	st, _ := mounts[m].fs.stat(rel)
	for i := range usocks {
		if o := &usocks[i]; o.dev == st.dev && o.ino == st.ino {
			o.ino = 0 // an unlinked node's, whose number is used again
		}
	}
	u.addr, u.dev, u.ino = a, st.dev, st.ino
	return 0
}

// unixAbstractTaken says whether a socket is bound to abstract name a.
func unixAbstractTaken(a *unixAddr) bool {
	for i := range usocks {
		if o := &usocks[i]; o.used && o.addr.n == a.n && o.addr.b == a.b {
			return true
		}
	}
	return false
}

// unixAutobindNext is the number of the next autobind name.
var unixAutobindNext uint32

// unixAutobind binds u to a free abstract name of five hex digits, as
// Linux's autobind (bind with the family alone) does.
func unixAutobind(u *usock) int64 {
	const hex = "0123456789abcdef"
	a := unixAddr{n: 2 + 1 + 5}
	a.b[0] = _AF_UNIX
	for range 1 << 20 {
		x := unixAutobindNext
		unixAutobindNext = (unixAutobindNext + 1) & (1<<20 - 1)
		for i := 7; i >= 3; i-- {
			a.b[i], x = hex[x&15], x>>4
		}
		if !unixAbstractTaken(&a) {
			u.addr = a
			return 0
		}
	}
	return -_ENOSPC // every name taken: Linux's answer too
}

// unixParentExists says whether the directory rel would be made in
// exists on mount m.
func unixParentExists(m int, rel []byte) bool {
	i := len(rel)
	for i > 0 && rel[i-1] != '/' {
		i--
	}
	if mounts[m].fs.stat == nil {
		return false
	}
	st, errno := mounts[m].fs.stat(rel[:max(i-1, 0)])
	return errno == 0 && st.mode&_S_IFMT == _S_IFDIR
}

// unixListen is listen of unconnected socket u.
func unixListen(u *usock, backlog int32) int64 {
	if u.addr.n == 0 {
		return -_EINVAL // as Linux: no listening on an unbound socket
	}
	u.listening = true
	u.backlog = uint32(min(max(backlog, 0)+1, unixQueueMax)) // Linux queues backlog+1
	return 0
}

// unixListener finds the listener a names for connect, or an errno.
func unixListener(a *unixAddr) (*usock, int64) {
	var st statInfo
	if !a.abstract() {
		m, rel, errno := unixPath(a, true)
		if errno != 0 {
			return nil, errno
		}
		if mounts[m].fs.stat == nil {
			return nil, -_ENOENT
		}
		if st, errno = mounts[m].fs.stat(rel); errno != 0 {
			return nil, errno
		}
		if st.mode&_S_IFMT != _S_IFSOCK {
			return nil, -_ECONNREFUSED
		}
	}
	for i := range usocks {
		o := &usocks[i]
		switch {
		case !o.used || !o.listening:
		case a.abstract() && o.addr.n == a.n && o.addr.b == a.b,
			!a.abstract() && o.ino != 0 && o.dev == st.dev && o.ino == st.ino:
			return o, 0
		}
	}
	return nil, -_ECONNREFUSED
}

// unixConnect is connect of fd's unconnected socket e: it becomes an end
// of a new connection whose other end waits for the listener's accept4.
func unixConnect(e *fdEntry, addr, n uintptr) int64 {
	u := &usocks[e.handle]
	if u.listening {
		return -_EINVAL
	}
	var a unixAddr
	if r := getUnixAddr(addr, n, &a); r < 0 {
		return r
	}
	if a.n == 2 {
		return -_EINVAL
	}
	l, errno := unixListener(&a)
	if errno != 0 {
		return errno
	}
	if l.queued >= l.backlog {
		return -_EAGAIN
	}
	p, q, errno := unixPairNew()
	if errno != 0 {
		return errno
	}
	// The client reads q and writes p; the accepted end the other way.
	unixNames[q].local, unixNames[q].peer = u.addr, l.addr
	unixNames[p].local, unixNames[p].peer = l.addr, u.addr
	l.queue[(l.head+l.queued)%unixQueueMax] = p | q<<pairHalf
	l.queued++
	unixListenerChanged(l)
	*u = usock{}
	e.kind, e.handle = fdUnix, q|p<<pairHalf
	return 0
}

// unixListenerChanged marks the watches of listener l's fds (a
// connection came or went) and has the dispatcher wake the epoll waits.
func unixListenerChanged(l *usock) {
	for i := range watches {
		if w := &watches[i]; w.used {
			if f := &files[w.file]; f.kind == fdUnixSock && &usocks[f.handle] == l {
				w.edge = true
			}
		}
	}
	readinessChanged = true
}

// unixAccept is accept4 of fd's unconnected socket e.
func unixAccept(e *fdEntry, addr, lenp uintptr, flags int) int64 {
	l := &usocks[e.handle]
	if !l.listening {
		return -_EINVAL
	}
	if l.queued == 0 {
		return -_EAGAIN // also when blocking: see the file's comment
	}
	fd := fdAlloc(fdUnix)
	if fd < 0 {
		return fd // the connection stays queued, as on Linux
	}
	h := l.queue[l.head]
	l.head, l.queued = (l.head+1)%unixQueueMax, l.queued-1
	unixListenerChanged(l)
	fdAt(fd).handle, fdAt(fd).flags = h, uint32(flags&_O_NONBLOCK)
	fdCloexec(fd, uintptr(flags))
	if r := unixNames[h&(1<<pairHalf-1)].peer.put(addr, lenp); r < 0 {
		return r // Linux too returns EFAULT with the connection accepted
	}
	return fd
}

// unixSockReady is the epoll readiness of an unconnected socket: a
// listener is readable with connections queued; another is, as on
// Linux, writable and hung up.
func unixSockReady(e *fdEntry, w *watch) uint32 {
	u := &usocks[e.handle]
	var ev uint32
	switch {
	case u.listening && u.queued > 0:
		ev = _EPOLLIN
	case !u.listening:
		ev = _EPOLLOUT | _EPOLLHUP
	}
	return pipeEdge(w, ev)
}

// unixSockClose closes an unconnected socket: a listener's queued
// connections are closed (their clients read end of file), its node
// stays.
func unixSockClose(e *fdEntry) {
	u := &usocks[e.handle]
	for ; u.queued > 0; u.queued-- {
		end := fdEntry{kind: fdUnix, handle: u.queue[u.head]}
		unixClose(&end)
		u.head = (u.head + 1) % unixQueueMax
	}
	*u = usock{}
}

// unixSockGetsockopt answers getsockopt of an unconnected socket: what
// unixGetsockopt answers, and whether it listens.
func unixSockGetsockopt(u *usock, level, name int, val, lenp uintptr) int64 {
	if level == _SOL_SOCKET && name == _SO_ACCEPTCONN {
		var v int32
		if u.listening {
			v = 1
		}
		return putOpt(val, lenp, unsafe.Pointer(&v), 4)
	}
	return unixGetsockopt(level, name, val, lenp)
}

// unixSetsockopt is setsockopt of any unix socket: the socket-level
// options Go's net package sets (SO_REUSEADDR on every listener, the
// buffer sizes) are accepted and change nothing here.
func unixSetsockopt(level, name int, n uintptr) int64 {
	switch {
	case level != _SOL_SOCKET:
		return -_EOPNOTSUPP // as Linux for TCP and IP options
	case sockOpt(level, name) < 0:
		return -_ENOPROTOOPT
	case n < 4:
		return -_EINVAL
	}
	return 0
}

// unixFlagsOK says whether the send or receive flags are ones this file
// honours: MSG_DONTWAIT (every end here is non-blocking in effect) and
// MSG_NOSIGNAL (nothing here raises SIGPIPE), and MSG_CMSG_CLOEXEC.
func unixFlagsOK(flags int) bool {
	return flags&^(_MSG_DONTWAIT|_MSG_NOSIGNAL|_MSG_CMSG_CLOEXEC) == 0
}

// unixSend is sendto and sendmsg of connected end fd: the write of u,
// with Linux's EISCONN for an address (addressed set).
func unixSend(fd uintptr, u *ubuf, addressed bool, flags int) int64 {
	switch {
	case addressed:
		return -_EISCONN
	case !unixFlagsOK(flags):
		return -_EOPNOTSUPP
	}
	if tot := u.total(); tot < 0 {
		return tot
	}
	return segIO(fd, u, true)
}

// unixRecv is recvfrom and recvmsg of connected end fd: the read of u,
// and the peer's name at from (its length at fromLen; 0 if unnamed, as
// Linux gives it).
func unixRecv(fd uintptr, e *fdEntry, u *ubuf, flags int, from, fromLen uintptr) int64 {
	if !unixFlagsOK(flags) {
		return -_EOPNOTSUPP
	}
	if tot := u.total(); tot < 0 {
		return tot
	}
	n := segIO(fd, u, false)
	if n < 0 || from == 0 || fromLen == 0 {
		return n
	}
	peer := &unixNames[e.handle&(1<<pairHalf-1)].peer
	if peer.n == 0 {
		var zero uint32
		if !copyOut(fromLen, unsafe.Pointer(&zero), 4) {
			return -_EFAULT
		}
		return n
	}
	if r := peer.put(from, fromLen); r < 0 {
		return r
	}
	return n
}

// unixSendmsg is sendmsg of connected end fd, its msghdr at va.
func unixSendmsg(fd, va uintptr, flags int) int64 {
	var m msghdr
	if !copyIn(unsafe.Pointer(&m), va, unsafe.Sizeof(m)) {
		return -_EFAULT
	}
	if m.controllen != 0 {
		return -_EOPNOTSUPP // no fds or credentials are passed
	}
	u := ubuf{iov: uintptr(m.iov), cnt: int(m.iovlen)}
	return unixSend(fd, &u, m.name != 0 && m.namelen != 0, flags)
}

// unixRecvmsg is recvmsg of connected end e (fd), its msghdr at va:
// no control data, no flags.
func unixRecvmsg(fd uintptr, e *fdEntry, va uintptr, flags int) int64 {
	var m msghdr
	if !copyIn(unsafe.Pointer(&m), va, unsafe.Sizeof(m)) {
		return -_EFAULT
	}
	u := ubuf{iov: uintptr(m.iov), cnt: int(m.iovlen)}
	lenp := uintptr(0)
	if m.name != 0 {
		lenp = va + unsafe.Offsetof(m.namelen)
	}
	n := unixRecv(fd, e, &u, flags, uintptr(m.name), lenp)
	if n >= 0 {
		var tail [2]uint64 // controllen 0; flags 0
		if !copyOut(va+unsafe.Offsetof(m.controllen), unsafe.Pointer(&tail), 12) {
			return -_EFAULT
		}
	}
	return n
}
