package hypercall

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openNowait opens a second, non-blocking open file description of w
// when w is a pipe (FIFO) or /dev/null, for writeNow, and returns its fd
// (close-on-exec), or -1. A new description, through /proc/self/fd,
// because O_NONBLOCK belongs to the description: setting it on w's own
// would change it for every process sharing it (a shell's pipeline).
// Other files keep the writer goroutine alone: a terminal or a device
// may act on being opened, and a regular file's new description would
// have an offset of its own.
func openNowait(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return -1
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1
	}
	nowait := -1
	rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		pipe := st.Mode&unix.S_IFMT == unix.S_IFIFO
		null := st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3
		if !pipe && !null {
			return
		}
		// ENXIO for a pipe without a reader: then the writer goroutine
		// meets the EPIPE, as without this.
		if n, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err == nil {
			nowait = n
		}
	})
	return nowait
}

// writeNow writes what the console takes of b at once, without waiting,
// and returns how much: 0 when it would wait or failed (the goroutine's
// Write then meets the error and reports it) or there is no way to ask.
// A pipe takes all of a write up to PIPE_BUF bytes or none of it, and of
// a larger one what fits.
func (c *console) writeNow(b []byte) int {
	if c.nowait < 0 {
		return 0
	}
	n, err := unix.Write(c.nowait, b)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// closeNowait closes openNowait's description.
func (c *console) closeNowait() {
	if c.nowait >= 0 {
		unix.Close(c.nowait)
		c.nowait = -1
	}
}
