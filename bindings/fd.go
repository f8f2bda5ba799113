//go:build linux && amd64

package bindings

import "unsafe"

// File descriptors: 0-2 are the console; the runtime's netpoller adds an
// epoll instance and an eventfd; openat of DevicePrefix+NAME gives block
// and net devices (dev.go).
const (
	maxFDs     = 64
	maxWatches = 64

	fdNone    = 0
	fdStd     = 1
	fdEpoll   = 2
	fdEventfd = 3

	_EPOLLIN       = 1
	_EPOLL_CTL_ADD = 1
	_EPOLL_CTL_DEL = 2
	_EPOLL_CTL_MOD = 3
)

type fdEntry struct {
	kind   uint32
	handle uint32 // fdBlock, fdNet: the device's manifest index
	flags  uint32 // fdBlock, fdNet: the access mode and O_NONBLOCK
	count  uint64 // eventfd counter
	pos    uint64 // fdBlock: the file position of read, write and lseek
}

type watch struct {
	used   bool
	epfd   int32
	fd     int32
	events uint32
	data   uint64
	edge   bool // EPOLLET: readiness not yet reported (net fds)
}

var (
	fds     = [maxFDs]fdEntry{{kind: fdStd}, {kind: fdStd}, {kind: fdStd}}
	watches [maxWatches]watch
)

func fdAlloc(kind uint32) int64 {
	for i := range fds {
		if fds[i].kind == fdNone {
			fds[i] = fdEntry{kind: kind}
			return int64(i)
		}
	}
	return -24 // EMFILE
}

// fdGet returns fd's entry, or nil if fd is not open.
func fdGet(fd int) *fdEntry {
	if fd < 0 || fd >= maxFDs || fds[fd].kind == fdNone {
		return nil
	}
	return &fds[fd]
}

func fdClose(fd int) int64 {
	if fd < 0 || fd >= maxFDs || fds[fd].kind == fdNone {
		return -_EBADF
	}
	if fd > 2 {
		if fds[fd].kind == fdNet {
			netCloseDev(fds[fd].handle)
		}
		fds[fd] = fdEntry{}
		for i := range watches {
			if watches[i].used && (watches[i].fd == int32(fd) || watches[i].epfd == int32(fd)) {
				watches[i] = watch{}
			}
		}
	}
	return 0
}

func sysEventfd(initval uint64) int64 {
	fd := fdAlloc(fdEventfd)
	if fd >= 0 {
		fds[fd].count = initval
	}
	return fd
}

func sysEpollCtl(epfd, op, fd int, ev uintptr) int64 {
	if epfd < 0 || epfd >= maxFDs || fds[epfd].kind != fdEpoll || fd < 0 || fd >= maxFDs || fds[fd].kind == fdNone {
		return -_EBADF
	}
	var e [12]byte // struct epoll_event is packed on x86_64: u32 events, u64 data
	if op != _EPOLL_CTL_DEL && !copyIn(unsafe.Pointer(&e), ev, 12) {
		return -_EFAULT
	}
	if fds[fd].kind == fdBlock {
		return -_EPERM // as Linux says for regular files: the runtime then does blocking I/O
	}
	events := *(*uint32)(unsafe.Pointer(&e[0]))
	data := *(*uint64)(unsafe.Pointer(&e[4]))
	for i := range watches {
		w := &watches[i]
		if w.used && w.epfd == int32(epfd) && w.fd == int32(fd) {
			switch op {
			case _EPOLL_CTL_DEL:
				*w = watch{}
			case _EPOLL_CTL_MOD:
				w.events, w.data = events, data
			default:
				return -17 // EEXIST
			}
			return 0
		}
	}
	if op != _EPOLL_CTL_ADD {
		return -_ENOENT
	}
	for i := range watches {
		if !watches[i].used {
			// An edge-triggered watch of a ready device reports it once,
			// as Linux reports current readiness when a fd is added.
			edge := fds[fd].kind == fdNet && netDevs[fds[fd].handle].ready
			watches[i] = watch{used: true, epfd: int32(epfd), fd: int32(fd), events: events, data: data, edge: edge}
			return 0
		}
	}
	return -_ENOMEM
}

// collect writes up to max ready events of epfd to the program's buffer.
func collect(epfd int, buf uintptr, max int) int64 {
	n := 0
	for i := range watches {
		w := &watches[i]
		if n >= max || !w.used || w.epfd != int32(epfd) || w.events&_EPOLLIN == 0 {
			continue
		}
		if readable(w) {
			var e [12]byte
			*(*uint32)(unsafe.Pointer(&e[0])) = _EPOLLIN
			*(*uint64)(unsafe.Pointer(&e[4])) = w.data
			if !copyOut(buf+uintptr(12*n), unsafe.Pointer(&e), 12) {
				return -_EFAULT
			}
			n++
		}
	}
	return int64(n)
}

// readable reports whether w has an EPOLLIN event to report now: an
// eventfd with a non-zero counter, a net device that became ready (an
// edge, consumed here, for EPOLLET watches; the level otherwise).
func readable(w *watch) bool {
	e := &fds[w.fd]
	switch e.kind {
	case fdEventfd:
		return e.count > 0
	case fdNet:
		if w.events&_EPOLLET == 0 {
			return netDevs[e.handle].ready
		}
		r := w.edge
		w.edge = false
		return r
	}
	return false
}

// sysEpollWait returns ready events, or blocks until an eventfd is
// written, a net device becomes ready or the timeout (ms, -1 = none)
// passes; 1<<62 means blocked.
func sysEpollWait(f *frame, t *thread, epfd int, buf uintptr, max, timeout int) int64 {
	if epfd < 0 || epfd >= maxFDs || fds[epfd].kind != fdEpoll || max <= 0 {
		return -_EINVAL
	}
	pollNet()
	if n := collect(epfd, buf, max); n != 0 || timeout == 0 {
		return n
	}
	var deadline int64
	if timeout > 0 {
		deadline = now() + int64(timeout)*1_000_000
	}
	t.waitAddr = buf
	t.waitArg = uint64(epfd)<<32 | uint64(uint32(max))
	f.RAX = 0
	block(f, t, waitEpoll, deadline)
	return 1 << 62
}

// epollWake completes the epoll waits that have events to report.
func epollWake() {
	for i := range threads {
		t := &threads[i]
		if t.state != tBlocked || t.wait != waitEpoll {
			continue
		}
		epfd := int(t.waitArg >> 32)
		if n := collect(epfd, t.waitAddr, int(uint32(t.waitArg))); n != 0 {
			wake(i, n)
		}
	}
}
