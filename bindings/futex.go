//go:build linux

package bindings

import "unsafe"

const (
	_FUTEX_WAIT = 0
	_FUTEX_WAKE = 1
)

// sysFutex implements FUTEX_WAIT and FUTEX_WAKE (private or not, the
// guest has one address space).
func sysFutex(t *thread, a sysArgs) (int64, sysResult) {
	addr, op, val, timeout := a[0], int(a[1]), uint32(a[2]), a[3]
	switch op & 0x7f {
	case _FUTEX_WAIT:
		v, ok := getU32(addr)
		if !ok {
			return done(-_EFAULT)
		}
		if v != val {
			return done(-_EAGAIN)
		}
		var deadline int64
		if timeout != 0 {
			var ts [2]int64
			if !copyIn(unsafe.Pointer(&ts), timeout, 16) {
				return done(-_EFAULT)
			}
			deadline = now() + ts[0]*1_000_000_000 + ts[1]
		}
		t.waitAddr = addr
		park(t, waitFutex, deadline)
		return 0, sysBlocked
	case _FUTEX_WAKE:
		n := int64(0)
		for i := range slots() {
			w := &threads[i]
			if n < int64(val) && w.state == tBlocked && w.wait == waitFutex && w.waitAddr == addr {
				wake(i, 0)
				n++
			}
		}
		return done(n)
	}
	return done(-_ENOSYS)
}
