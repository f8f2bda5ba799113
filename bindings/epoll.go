//go:build linux

package bindings

// epoll: watches of fds by epoll instances. As on Linux, a watch is of an
// fd and its open file description, by the description of an epoll
// instance: it stays while the description has an fd (a closed fd's dup
// keeps it reporting) and goes with the description's last fd, or with
// the epoll instance's. What is ready comes from the watched fd's kind (fdKindOps.ready); a kind whose readiness changes
// wakes the waits with epollWake (or, from a system call, by setting
// readinessChanged).

const (
	maxWatches = 1024

	_EPOLLIN       = 1
	_EPOLLOUT      = 0x4
	_EPOLLERR      = 0x8
	_EPOLLHUP      = 0x10
	_EPOLLRDHUP    = 0x2000
	_EPOLLET       = 1 << 31
	_EPOLL_CTL_ADD = 1
	_EPOLL_CTL_DEL = 2
	_EPOLL_CTL_MOD = 3
)

type watch struct {
	used   bool
	ep     int32 // the epoll instance's description (index in files)
	fd     int32 // the fd given to epoll_ctl
	file   int32 // its description
	events uint32
	data   uint64
	edge   bool // EPOLLET: readiness not yet reported (the kind sets and consumes it)
	// seenRx and seenTx are the generations of a socket's directions
	// an EPOLLET watch last reported (socket.go).
	seenRx, seenTx uint32
}

var watches [maxWatches]watch

func sysEpollCreate1(t *thread, a sysArgs) (int64, sysResult) {
	return done(fdCloexec(fdAlloc(fdEpoll), a[0]))
}

// epollForget drops the watches of a released description and those of
// a released epoll instance.
func epollForget(file int32) {
	for i := range watches {
		if watches[i].used && (watches[i].file == file || watches[i].ep == file) {
			watches[i] = watch{}
		}
	}
}

func sysEpollCtl(t *thread, a sysArgs) (int64, sysResult) {
	epfd, op, fd := a[0], int(a[1]), a[2]
	ep, e := fdGet(epfd), fdGet(fd)
	if ep == nil || ep.kind != fdEpoll || e == nil {
		return done(-_EBADF)
	}
	epd, file := int32(fdFile(epfd)), int32(fdFile(fd))
	var events uint32
	var data uint64
	if op != _EPOLL_CTL_DEL {
		var ok bool
		if events, data, ok = getEpollEvent(a[3]); !ok {
			return done(-_EFAULT)
		}
	}
	if ops(e).ready == nil {
		return done(-_EPERM) // as Linux says for regular files: the runtime then does blocking I/O
	}
	for i := range watches {
		w := &watches[i]
		if w.used && w.ep == epd && w.fd == int32(fd) && w.file == file {
			switch op {
			case _EPOLL_CTL_DEL:
				*w = watch{}
			case _EPOLL_CTL_MOD:
				w.events, w.data = events, data
			default:
				return done(-_EEXIST)
			}
			return done(0)
		}
	}
	if op != _EPOLL_CTL_ADD {
		return done(-_ENOENT)
	}
	for i := range watches {
		if !watches[i].used {
			// An edge-triggered watch of a ready fd reports it once, as
			// Linux reports current readiness when a fd is added.
			// (Asked of the watch in place, level-triggered: a watch on
			// the kernel's stack would escape through the indirect call.)
			w := &watches[i]
			*w = watch{used: true, ep: epd, fd: int32(fd), file: file, events: events &^ _EPOLLET, data: data}
			w.edge = ops(e).ready(e, w) != 0
			w.events = events
			return done(0)
		}
	}
	return done(-_ENOMEM)
}

// collect writes up to max ready events of the epoll instance whose
// description is ep to the program's buffer.
func collect(ep int32, buf uintptr, max int) int64 {
	n := 0
	for i := range watches {
		w := &watches[i]
		if n >= max || !w.used || w.ep != ep {
			continue
		}
		e := &files[w.file]
		if ev := ops(e).ready(e, w) & w.events; ev != 0 {
			if !putEpollEvent(buf+uintptr(n)*epollEventSize, ev, w.data) {
				return -_EFAULT
			}
			n++
		}
	}
	return int64(n)
}

// sysEpollWait returns ready events, or parks the thread until an fd
// becomes ready (epollWake) or the timeout (ms, -1 = none) passes.
func sysEpollWait(t *thread, a sysArgs) (int64, sysResult) {
	epfd, buf, max, timeout := a[0], a[1], int(a[2]), int(int32(a[3]))
	if ep := fdGet(epfd); ep == nil || ep.kind != fdEpoll || max <= 0 {
		return done(-_EINVAL)
	}
	pollNet()
	ep := int32(fdFile(epfd))
	if n := collect(ep, buf, max); n != 0 || timeout == 0 {
		return done(n)
	}
	var deadline int64
	if timeout > 0 {
		deadline = now() + int64(timeout)*1_000_000
	}
	t.waitAddr = buf
	t.waitArg = uint64(ep)<<32 | uint64(uint32(max))
	park(t, waitEpoll, deadline)
	return 0, sysBlocked
}

// epollWake completes the epoll waits that have events to report.
func epollWake() {
	for i := range slots() {
		t := &threads[i]
		if t.state != tBlocked || t.wait != waitEpoll {
			continue
		}
		ep := int32(t.waitArg >> 32)
		if n := collect(ep, t.waitAddr, int(uint32(t.waitArg))); n != 0 {
			wake(i, n)
		}
	}
}
