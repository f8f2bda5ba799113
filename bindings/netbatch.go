//go:build linux

package bindings

import "unsafe"

// recvmmsg and sendmmsg on a net device fd move several frames in one
// system call, one frame per message (each message's first iovec is
// its buffer), as they move several datagrams on a Linux packet
// socket. A trap into the kernel costs far more than a frame's
// hypercall where CPL0 is emulated, so the network stack's link
// endpoint reads and writes frames in batches with them.

// mmsghdrSize is struct mmsghdr: a struct msghdr and msg_len, padded.
const (
	mmsghdrSize = 64
	mmsgLenOff  = 56
	maxMmsg     = 64 // messages per call; more is a short count, as UIO_MAXIOV bounds Linux's
)

// mmsgBuf returns the first iovec of message i of vec.
func mmsgBuf(vec uintptr, i int) (uintptr, uintptr, bool) {
	var m msghdr
	if !copyIn(unsafe.Pointer(&m), vec+uintptr(i)*mmsghdrSize, unsafe.Sizeof(m)) {
		return 0, 0, false
	}
	if m.iovlen == 0 {
		return 0, 0, true
	}
	var v [2]uint64
	if !copyIn(unsafe.Pointer(&v), uintptr(m.iov), 16) {
		return 0, 0, false
	}
	return uintptr(v[0]), uintptr(v[1]), true
}

// netBatchFd returns fd's entry if it is a net device open for the
// direction, or an errno.
func netBatchFd(fd uintptr, write bool) (*fdEntry, int64) {
	e := fdGet(fd)
	switch {
	case e == nil:
		return nil, -_EBADF
	case e.kind == fdSocket:
		return nil, -_EOPNOTSUPP // the net package does not use them on sockets
	case e.kind != fdNet:
		return nil, -_ENOTSOCK
	case !devMay(e, write):
		return nil, -_EBADF
	}
	return e, 0
}

func sysRecvmmsg(t *thread, a sysArgs) (int64, sysResult) {
	e, r := netBatchFd(a[0], false)
	if r < 0 {
		return done(r)
	}
	r = mmsgFrames(e, a[1], int(min(a[2], maxMmsg)), false)
	if r == -_EAGAIN && netWaitRead(e, t) {
		return 0, sysRestart
	}
	return done(r)
}

func sysSendmmsg(t *thread, a sysArgs) (int64, sysResult) {
	e, r := netBatchFd(a[0], true)
	if r < 0 {
		return done(r)
	}
	return done(mmsgFrames(e, a[1], int(min(a[2], maxMmsg)), true))
}

// mmsgFrames reads (or writes) one frame per message of vec, vlen
// messages at most, and returns how many, or the first message's error.
func mmsgFrames(e *fdEntry, vec uintptr, vlen int, write bool) int64 {
	n := 0
	var r int64
	for n < vlen {
		b, l, ok := mmsgBuf(vec, n)
		if !ok {
			r = -_EFAULT
			break
		}
		if write {
			r = sysNetWrite(e.handle, b, l)
		} else {
			r = sysNetRead(e.handle, b, l)
		}
		if r < 0 {
			break
		}
		k := uint32(r)
		if !copyOut(vec+uintptr(n)*mmsghdrSize+mmsgLenOff, unsafe.Pointer(&k), 4) {
			r = -_EFAULT
			break
		}
		n++
	}
	if n > 0 {
		return int64(n)
	}
	return r
}
