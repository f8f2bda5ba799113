//go:build linux

package bindings

import "unsafe"

// Pipes (pipe2): a 64 KiB ring in guest RAM frames between a read fd
// and a write fd, as Linux's default pipe size. os.Pipe makes both ends
// non-blocking and waits in the runtime's netpoller, so the ends are
// pollable, edge-triggered as the runtime registers them: a write marks
// the read end's watches, a read the write end's, a close both. A
// blocking read with nothing to read returns EAGAIN rather than
// waiting (the runtime never asks for one). Writing to a pipe whose
// read end is closed fails with EPIPE, without SIGPIPE.

const (
	maxPipes   = 64 // 32 unix connections
	pipePages  = 16
	pipeSize   = pipePages * pageSize
	_O_CLOEXEC = 0x80000
)

type pipe struct {
	readers, writers uint32 // open ends (0 or 1 each)
	ends             uint32 // socketpair ends using it (unixpair.go); 0 for pipe2's
	head, count      uint32
	pages            [pipePages]uintptr
}

var pipes [maxPipes]pipe

// sysSplice is splice: EINVAL, Linux's answer for fds it cannot splice.
// The kernel moves no data between fds itself; Go's net package splices
// socket to socket through a pipe (io.Copy of two TCPConns) once pipe2
// works, and falls back to copying on EINVAL only (ENOSYS would end the
// copy with an error).
func sysSplice(t *thread, a sysArgs) (int64, sysResult) { return done(-_EINVAL) }

func sysPipe2(t *thread, a sysArgs) (int64, sysResult) {
	if a[1]&^(_O_NONBLOCK|_O_CLOEXEC) != 0 {
		return done(-_EINVAL)
	}
	h, errno := pipeNew()
	if errno < 0 {
		return done(errno)
	}
	p := &pipes[h]
	r := fdAlloc(fdPipeRead)
	if r < 0 {
		pipeFree(p)
		return done(r)
	}
	w := fdAlloc(fdPipeWrite)
	if w < 0 {
		fdDrop(r)
		pipeFree(p)
		return done(w)
	}
	flags := uint32(a[1] & _O_NONBLOCK)
	fdAt(r).handle, fdAt(r).flags = uint32(h), flags|_O_RDONLY
	fdAt(w).handle, fdAt(w).flags = uint32(h), flags|_O_WRONLY
	fdsOut := [2]int32{int32(r), int32(w)}
	if !copyOut(a[0], unsafe.Pointer(&fdsOut), 8) {
		fdDrop(r)
		fdDrop(w)
		pipeFree(p)
		return done(-_EFAULT)
	}
	p.readers, p.writers, p.head, p.count = 1, 1, 0, 0
	fdCloexec(r, a[1])
	fdCloexec(w, a[1])
	return done(0)
}

// pipeNew takes a free pipe and gives it its ring, or returns an errno.
func pipeNew() (uint32, int64) {
	for i := range pipes {
		if p := &pipes[i]; p.pages[0] == 0 {
			for j := range p.pages {
				if p.pages[j] = allocFrame(); p.pages[j] == 0 {
					pipeFree(p)
					return 0, -_ENOMEM
				}
			}
			return uint32(i), 0
		}
	}
	return 0, -_ENFILE
}

func pipeFree(p *pipe) {
	for i := range p.pages {
		if p.pages[i] != 0 {
			freeFrame(p.pages[i])
			p.pages[i] = 0
		}
	}
	*p = pipe{}
}

// pipeChanged marks the watches of both ends of pipe h (their readiness
// changed) and has the dispatcher wake the epoll waits.
func pipeChanged(h uint32) {
	for i := range watches {
		w := &watches[i]
		if !w.used {
			continue
		}
		e := &files[w.file]
		switch {
		case (e.kind == fdPipeRead || e.kind == fdPipeWrite) && e.handle == h,
			e.kind == fdUnix && (e.handle&(1<<pairHalf-1) == h || e.handle>>pairHalf == h):
			w.edge = true
		}
	}
	readinessChanged = true
}

func pipeRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	return pipeReadFrom(e.handle, buf, n, at)
}

// pipeReadFrom is a read of pipe h.
func pipeReadFrom(h uint32, buf, n uintptr, at bool) int64 {
	p := &pipes[h]
	switch {
	case at:
		return -_ESPIPE
	case n == 0:
		return 0
	case p.count == 0 && p.writers == 0:
		return 0
	case p.count == 0:
		return -_EAGAIN
	}
	c := uint32(min(n, uintptr(p.count)))
	if !pipeCopy(p, p.head, buf, c, true) {
		return -_EFAULT
	}
	p.head = (p.head + c) % pipeSize
	p.count -= c
	pipeChanged(h)
	return int64(c)
}

// pipeCopy copies n bytes between the ring of p, from offset off
// (wrapping), and the program's buffer at buf: out to the program when out
// is set, else in from it. False if the program's buffer is bad.
func pipeCopy(p *pipe, off uint32, buf uintptr, n uint32, out bool) bool {
	for n > 0 {
		o := off % pipeSize
		c := min(n, pageSize-o%pageSize)
		k := ptr(p.pages[o/pageSize] + uintptr(o%pageSize))
		var ok bool
		if out {
			ok = copyOut(buf, k, uintptr(c))
		} else {
			ok = copyIn(k, buf, uintptr(c))
		}
		if !ok {
			return false
		}
		off, buf, n = off+c, buf+uintptr(c), n-c
	}
	return true
}

func pipeWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	return pipeWriteTo(e.handle, buf, n, at)
}

// pipeWriteTo is a write to pipe h.
func pipeWriteTo(h uint32, buf, n uintptr, at bool) int64 {
	p := &pipes[h]
	switch {
	case at:
		return -_ESPIPE
	case p.readers == 0:
		return -_EPIPE
	case n == 0:
		return 0
	case p.count == pipeSize:
		return -_EAGAIN
	}
	c := uint32(min(n, uintptr(pipeSize-p.count)))
	if !pipeCopy(p, p.head+p.count, buf, c, false) {
		return -_EFAULT
	}
	p.count += c
	pipeChanged(h)
	return int64(c)
}

// pipeReady is the readiness of either end (edge-triggered watches see
// it once per change).
func pipeReady(e *fdEntry, w *watch) uint32 {
	p := &pipes[e.handle]
	var ev uint32
	if e.kind == fdPipeRead {
		if p.count > 0 {
			ev |= _EPOLLIN
		}
		if p.writers == 0 {
			ev |= _EPOLLIN | _EPOLLHUP | _EPOLLRDHUP
		}
	} else {
		if p.count < pipeSize {
			ev |= _EPOLLOUT
		}
		if p.readers == 0 {
			ev |= _EPOLLOUT | _EPOLLERR
		}
	}
	return pipeEdge(w, ev)
}

// pipeEdge is the events ev for watch w: for an edge-triggered watch,
// once per change (pipeChanged), else each time.
func pipeEdge(w *watch, ev uint32) uint32 {
	if w.events&_EPOLLET != 0 {
		if !w.edge {
			return 0
		}
		w.edge = false
	}
	return ev
}

func pipeClose(e *fdEntry) {
	p := &pipes[e.handle]
	if e.kind == fdPipeRead {
		p.readers = 0
	} else {
		p.writers = 0
	}
	pipeChanged(e.handle)
	if p.readers == 0 && p.writers == 0 {
		pipeFree(p)
	}
}

func pipeStat(e *fdEntry) statInfo { return statInfo{mode: 0o010600, blksize: pageSize} } // S_IFIFO
