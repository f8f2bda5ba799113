package bindings

import "unsafe"

// sendfileBuf is where sendfile moves bytes through: the kernel serves
// one system call at a time.
var sendfileBuf [64 << 10]byte

// sysSendfile is sendfile(2): up to count bytes from in_fd, at *offset
// (which it advances) or at in_fd's position (which it advances), to
// out_fd, as a write of them would (so a full non-blocking socket says
// EAGAIN). It moves what one write takes, at most len(sendfileBuf), and
// returns that count, as Linux may; the caller loops. in_fd must be a
// file that can be read at an offset (EINVAL otherwise, as Linux says
// for a pipe or socket).
func sysSendfile(t *thread, a sysArgs) (int64, sysResult) {
	out, in, offp, count := a[0], a[1], a[2], a[3]
	ein := fdGet(in)
	if ein == nil || fdGet(out) == nil {
		return done(-_EBADF)
	}
	if ops(ein).read == nil || ops(ein).seek == nil {
		return done(-_EINVAL)
	}
	pos := int64(ein.pos)
	if offp != 0 {
		if !copyIn(unsafe.Pointer(&pos), offp, 8) {
			return done(-_EFAULT)
		}
	}
	if pos < 0 || int64(count) < 0 {
		return done(-_EINVAL)
	}
	buf := uintptr(unsafe.Pointer(&sendfileBuf[0]))
	n := ops(ein).read(ein, buf, min(uintptr(count), uintptr(len(sendfileBuf))), pos, true)
	if n <= 0 {
		return done(n) // an error, or 0 at the end of the file
	}
	w := fdIO(out, buf, uintptr(n), 0, false, true)
	if w <= 0 {
		return done(w)
	}
	pos += w
	if offp != 0 {
		if !copyOut(offp, unsafe.Pointer(&pos), 8) {
			return done(-_EFAULT)
		}
	} else {
		ein.pos = uint64(pos)
	}
	return done(w)
}
