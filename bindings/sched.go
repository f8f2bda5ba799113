//go:build linux && amd64

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
)

type thread struct {
	state    uint32
	wait     uint32
	tid      uint64
	fsbase   uint64
	regs     frame
	fx       [512]byte // x87/SSE state (FXSAVE64 image) while not running
	waitAddr uintptr   // futex word, or epoll events buffer
	waitArg  uint64    // epoll: maxevents; epfd in the high half. net: the handle
	deadline int64     // monotonic ns; 0 means none
	since    int64     // when it last started running
	sigmask  uint64    // blocked signals (bit sig-1)
	pending  uint64    // signals sent and not yet delivered
	altSP    uint64    // sigaltstack
	altSize  uint64
	altFlags uint32
}

var (
	threads [maxThreads]thread
	cur     int
	nextTID uint64 = 1
)

// fxArea is where kentry saves the running thread's x87/SSE state.
func fxArea() *[512]byte { return (*[512]byte)(ptr(fxAreaAddr)) }

func newThread() int {
	for i := range threads {
		if threads[i].state == tFree {
			threads[i] = thread{state: tRunnable, tid: nextTID}
			nextTID++
			return i
		}
	}
	return -1
}

// block parks the current thread (its frame already holds the result it
// gets if nothing else sets one) and switches away.
func block(f *frame, t *thread, kind uint32, deadline int64) {
	t.state = tBlocked
	t.wait = kind
	t.deadline = deadline
	schedule(f)
}

// wake makes a blocked thread runnable with result rax.
func wake(i int, rax int64) {
	t := &threads[i]
	t.regs.RAX = uint64(rax)
	t.state = tRunnable
	t.wait = waitNone
	t.deadline = 0
}

// yield lets the other runnable threads go first.
func yield(f *frame, t *thread) {
	schedule(f)
}

// schedule saves the current thread and loads the next runnable one into
// the frame, idling in the monitor's POLL hypercall until a deadline when
// nothing can run.
func schedule(f *frame) {
	old := cur
	if threads[old].state != tFree {
		threads[old].regs = *f
		threads[old].fx = *fxArea()
	}
	// A switch is where the kernel looks at net input while the program
	// is busy (rate-limited): a thread blocked in epoll is woken even
	// when no thread of the runtime polls without blocking.
	pollNet()
	for {
		n := now()
		expire(n)
		for k := 1; k <= maxThreads; k++ {
			i := (old + k) % maxThreads
			if threads[i].state == tRunnable {
				if i != old {
					stats.switches++
				}
				cur = i
				threads[i].since = n
				*f = threads[i].regs
				*fxArea() = threads[i].fx
				return
			}
		}
		idle(n)
	}
}

// expire wakes the threads whose deadline has passed: futex waits time
// out, sleeps end, epoll waits return no events.
func expire(n int64) {
	for i := range threads {
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
	for i := range threads {
		t := &threads[i]
		if t.state == tBlocked && t.deadline != 0 && t.deadline < next {
			next = t.deadline
		}
	}
	netPolled(pollHost(next-n), true)
}
