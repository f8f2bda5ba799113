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
//     a call with ERESTARTSYS); the value is ignored. What the call must
//     remember between its runs (when a timeout ends its wait, what it
//     did already) is in the thread's call state (parkCall, callState),
//     which the dispatcher clears when the call completes.
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
	_ENFILE    = 23
	_EMFILE    = 24
	_ENOSPC    = 28
	_ESPIPE    = 29
	_EPIPE     = 32
	_ENOSYS    = 38
	_ETIMEDOUT = 110
)

// syscall runs the system call of the current thread t, whose registers
// are in f.
func syscall(f *frame, t *thread) {
	stats.syscalls++
	nr, a := cpuSyscallEnter(f)
	sockChanged()
	r, res := int64(-_ENOSYS), sysDone
	if nr < uintptr(len(sysTable)) && sysTable[nr] != nil {
		r, res = sysTable[nr](t, a)
	}
	if readinessChanged {
		readinessChanged = false
		epollWake()
	}
	if res != sysRestart {
		t.call = callState{}
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

// callState is what a system call that waits and runs again
// (sysRestart) keeps between its runs; it is the zero value when a call
// starts. A signal delivered before a rerun (its handler's own system
// calls complete) clears it too; the Go runtime signals no thread
// blocked in a system call.
type callState struct {
	waiting bool  // parked at least once
	by      int64 // monotonic ns when the wait ends (a timeout); 0: none
	done    int64 // progress of earlier runs (bytes a blocking send queued)
}

// parkCall parks t in wait kind for a call that runs again when woken
// (the handler returns sysRestart), with a timeout (ns; 0: none) that
// counts from the call's first wait, as SO_RCVTIMEO and SO_SNDTIMEO
// count. It reports false, without parking, once the timeout is over.
func parkCall(t *thread, kind uint32, timeout int64) bool {
	c := &t.call
	n := now()
	if !c.waiting {
		c.waiting = true
		if timeout > 0 {
			c.by = n + timeout
		}
	}
	if c.by != 0 && n >= c.by {
		return false
	}
	park(t, kind, c.by)
	return true
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

func sysGetrandom(t *thread, a sysArgs) (int64, sysResult) { return done(fillRandom(a[0], a[1])) }

// fillRandom writes random bytes to the program's buf (32 MiB at most,
// as Linux's getrandom) and returns how many, or EFAULT.
func fillRandom(buf, n uintptr) int64 {
	n = min(n, 1<<25)
	for d := uintptr(0); d < n; d += 8 {
		v := random()
		if !copyOut(buf+d, unsafe.Pointer(&v), min(8, n-d)) {
			return -_EFAULT
		}
	}
	return int64(n)
}
