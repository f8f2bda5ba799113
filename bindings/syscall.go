//go:build linux

package bindings

import "unsafe"

// System calls, after gVisor's sentry: one table by number (sysTable, in
// syscalls_amd64.go for the amd64 numbers) of handlers with one signature
// and one result convention, and one dispatcher.
//
// A handler gets the calling thread and the six arguments and returns a
// value and a sysResult:
//   - sysDone: the call completed; the value is its result (-errno on
//     failure) and the thread goes on (after the other threads, if its
//     time slice is used up).
//   - sysBlocked: the thread gives up the CPU: the handler parked it
//     (park), or it exited, or it yields. The value is what the call
//     returns if the wake-up sets none (wake's value wins).
//   - sysRestart: the handler parked the thread, and when it is woken it
//     runs the same system call again from the start (as Linux restarts
//     a call with ERESTARTSYS); the value is ignored.
//
// Handlers never switch threads themselves: the dispatcher does, so
// adding a system call is one function and one table entry.

// sysArgs are the six arguments of a system call, in order.
type sysArgs [6]uintptr

// sysResult is what the dispatcher does after a handler (see above).
type sysResult uint8

const (
	sysDone sysResult = iota
	sysBlocked
	sysRestart
)

// sysFn is a system call handler. The table holds function values: the
// kernel only reads them (no write barrier), the table is statically
// initialised (the kernel runs before the Go runtime's init), and
// TestTrapPathDoesNotAllocate follows every entry.
type sysFn func(t *thread, a sysArgs) (int64, sysResult)

// done is a handler's return for a completed call.
func done(r int64) (int64, sysResult) { return r, sysDone }

// Linux errno values the emulation returns (negated).
const (
	_EPERM     = 1
	_ENOENT    = 2
	_ESRCH     = 3
	_EIO       = 5
	_EBADF     = 9
	_EAGAIN    = 11
	_ENOMEM    = 12
	_EFAULT    = 14
	_EBUSY     = 16
	_EEXIST    = 17
	_EINVAL    = 22
	_EMFILE    = 24
	_ENOSPC    = 28
	_ESPIPE    = 29
	_ENOSYS    = 38
	_ETIMEDOUT = 110
)

// syscall runs the system call of the current thread t, whose registers
// are in f.
func syscall(f *frame, t *thread) {
	stats.syscalls++
	nr, a := cpuSyscallEnter(f)
	r, res := int64(-_ENOSYS), sysDone
	if nr < uintptr(len(sysTable)) && sysTable[nr] != nil {
		r, res = sysTable[nr](t, a)
	}
	if readinessChanged {
		readinessChanged = false
		epollWake()
	}
	switch res {
	case sysDone:
		cpuSetReturn(f, r)
		if now()-t.since >= timeSlice {
			schedule(f)
		}
	case sysBlocked:
		cpuSetReturn(f, r)
		schedule(f)
	case sysRestart:
		cpuRestartSyscall(f, nr)
		t.restart = true
		schedule(f)
	}
}

func sysExitGroup(t *thread, a sysArgs) (int64, sysResult) {
	if showStats {
		printStats()
	}
	halt(int(a[0]) & 0xff)
	return done(0)
}

// sysExit ends the calling thread.
func sysExit(t *thread, a sysArgs) (int64, sysResult) {
	t.state = tFree
	return 0, sysBlocked
}

func sysSchedYield(t *thread, a sysArgs) (int64, sysResult) { return 0, sysBlocked }

// sysZero is every call that succeeds doing nothing here: mprotect (the
// program's pages are all read-write), prctl, getuid and friends (root).
func sysZero(t *thread, a sysArgs) (int64, sysResult) { return done(0) }

func sysGetpid(t *thread, a sysArgs) (int64, sysResult) { return done(1) }

func sysGettid(t *thread, a sysArgs) (int64, sysResult) { return done(int64(t.tid)) }

// sysSchedGetaffinity reports one CPU.
func sysSchedGetaffinity(t *thread, a sysArgs) (int64, sysResult) {
	if a[1] < 8 {
		return done(-_EINVAL)
	}
	if !putU64(a[2], 1) {
		return done(-_EFAULT)
	}
	return done(8)
}

func zeroOut(va, n uintptr) bool {
	var z [64]byte
	return copyOut(va, unsafe.Pointer(&z), n)
}

// random returns 64 random bits from the CPU, or cycle-counter jitter as
// a last resort on a CPU without a random number instruction.
func random() uint64 {
	if v, ok := cpuRandom(); ok {
		return v
	}
	return cpuCycles() * 0x9e3779b97f4a7c15
}

func sysGetrandom(t *thread, a sysArgs) (int64, sysResult) {
	buf, n := a[0], min(a[1], 1<<25)
	for d := uintptr(0); d < n; d += 8 {
		v := random()
		if !copyOut(buf+d, unsafe.Pointer(&v), min(8, n-d)) {
			return done(-_EFAULT)
		}
	}
	return done(int64(n))
}
