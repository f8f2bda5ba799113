//go:build linux

package bindings

// Threads are the Linux threads the Go runtime clones (its Ms). There is
// one CPU, so exactly one runs; the others are runnable or blocked in a
// futex, a sleep or an epoll wait. Switching happens when the running
// thread blocks or yields, and at trap entry (a system call or a timer
// tick) once it has used its time slice. A switch copies the frame at
// frameAddr to the old thread and the new thread's registers into it.

const (
	maxThreads = 256
	timeSlice  = 10_000_000 // ns

	tFree     = 0
	tRunnable = 1
	tBlocked  = 2

	waitNone  = 0
	waitFutex = 1
	waitSleep = 2
	waitEpoll = 3
	waitNet   = 4 // a blocking read of a net device (dev.go)
	waitSock  = 5 // a socket call waiting for the network stack (socket.go)
)

type thread struct {
	state    uint32
	wait     uint32
	tid      uint64
	tls      uint64 // the thread pointer (amd64: the FS base)
	regs     frame
	fp       fpState // floating-point state while not running
	restart  bool    // parked by sysRestart: the wake-up sets no result
	waitAddr uintptr // futex word, or epoll events buffer
	waitArg  uint64  // epoll: maxevents; the instance's description in the high half. net: the handle
	deadline int64   // monotonic ns; 0 means none
	since    int64   // when it last started running
	sigmask  uint64  // blocked signals (bit sig-1)
	pending  uint64  // signals sent and not yet delivered
	altSP    uint64  // sigaltstack
	altSize  uint64
	altFlags uint32

	call callState // what a call that runs again keeps between runs (syscall.go)
}

var (
	threads [maxThreads]thread
	// used is one past the highest slot ever given out. Scans of the
	// table stop there, so they read only the slots the program has
	// used: the whole table is 208 KiB, and reading a page of it before
	// anything wrote it makes the host map its zero page, which the
	// first write then replaces, at the cost of two more guest faults.
	used    int
	cur     int
	nextTID uint64 = 1
)

// slots returns the table's slots up to the highest ever used; some may
// be free again. Indexes into it are indexes into threads.
func slots() []thread { return threads[:used] }

func newThread() int {
	for i := range threads {
		if threads[i].state == tFree {
			threads[i] = thread{state: tRunnable, tid: nextTID}
			nextTID++
			used = max(used, i+1)
			return i
		}
	}
	return -1
}

// park marks t blocked in wait kind until deadline (0: none); the
// handler then returns sysBlocked or sysRestart and the dispatcher
// switches threads.
func park(t *thread, kind uint32, deadline int64) {
	t.state = tBlocked
	t.wait = kind
	t.deadline = deadline
}

// wake makes a blocked thread runnable with result r (unless it was
// parked to restart its system call).
func wake(i int, r int64) {
	t := &threads[i]
	if !t.restart {
		cpuSetReturn(&t.regs, r)
	}
	t.restart = false
	t.state = tRunnable
	t.wait = waitNone
	t.deadline = 0
}

// schedule saves the current thread and loads the next runnable one into
// the frame, idling in the monitor's POLL hypercall until a deadline when
// nothing can run.
func schedule(f *frame) {
	old := cur
	if threads[old].state != tFree {
		threads[old].regs = *f
		threads[old].fp = *fpArea()
	}
	// A switch is where the kernel looks at net input while the program
	// is busy (rate-limited): a thread blocked in epoll is woken even
	// when no thread of the runtime polls without blocking.
	pollNet()
	for {
		n := now()
		expire(n)
		for k := 1; k <= used; k++ {
			i := (old + k) % used
			if threads[i].state == tRunnable {
				if i != old {
					stats.switches++
				}
				cur = i
				threads[i].since = n
				*f = threads[i].regs
				*fpArea() = threads[i].fp
				return
			}
		}
		idle(n)
	}
}

// expire wakes the threads whose deadline has passed: futex waits time
// out, sleeps end, epoll waits return no events.
func expire(n int64) {
	for i := range slots() {
		t := &threads[i]
		if t.state != tBlocked || t.deadline == 0 || t.deadline > n {
			continue
		}
		switch t.wait {
		case waitFutex:
			wake(i, -_ETIMEDOUT)
		default:
			wake(i, 0)
		}
	}
}

// idle waits in the host until the earliest deadline (at most a second at
// a time, so a guest with nothing to wait for still checks in) or net
// input, which wakes the epoll waits (netPolled).
func idle(n int64) {
	next := n + 1_000_000_000
	for i := range slots() {
		t := &threads[i]
		if t.state == tBlocked && t.deadline != 0 && t.deadline < next {
			next = t.deadline
		}
	}
	netPolled(pollHost(next-n), true)
}

const (
	_CLONE_SETTLS = 0x80000
	_CLONE_THREAD = 0x10000
)

// clone starts a thread that returns 0 from the system call on its new
// stack; every other register is the caller's (the Go runtime passes m,
// g and fn in registers).
func clone(t *thread, flags, stack, tls uintptr) int64 {
	if flags&_CLONE_THREAD == 0 {
		return -_ENOSYS // no processes, only threads
	}
	i := newThread()
	if i < 0 {
		return -_EAGAIN
	}
	c := &threads[i]
	cpuCloneFrame(&c.regs, curFrame(), stack)
	c.fp = *fpArea()
	c.sigmask = t.sigmask // inherited, like Linux
	c.tls = t.tls
	if flags&_CLONE_SETTLS != 0 {
		c.tls = uint64(tls)
	}
	return int64(c.tid)
}
