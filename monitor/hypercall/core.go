//go:build linux

package hypercall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Tags in epoll_event.data for the Core's own fds. Pollable devices use
// their handle (1..63), so negative tags never collide with one.
const (
	tagTimer     = -1
	tagInterrupt = -2
)

// Core is the core module: WALLTIME, PUTS, POLL and HALT, and the wait set
// POLL sleeps on. The wait set is one epoll instance holding a timerfd for
// the guest's timeout, an eventfd for Interrupt, and every pollable device
// fd, so a POLL is exactly one epoll_pwait, as upstream's Linux tender.
type Core struct {
	console *console

	// mu is held shared by a POLL for its whole wait and exclusively by
	// AddPollable and Close, so Close cannot close the fds a POLL sleeps on.
	mu        sync.RWMutex
	closed    bool
	epfd      int
	timerfd   int
	pollables map[int]int // handle → fd, to refuse duplicates

	// intMu guards the eventfd for Interrupt separately from mu: Interrupt
	// must never wait for the POLL it is meant to end.
	intMu     sync.Mutex
	intClosed bool
	eventfd   int
	// stop is closed by the first Interrupt, for what waits on channels
	// rather than on the wait set: a console write.
	stop chan struct{}
}

// NewCore creates the core module, whose PUTS writes guest output to
// console. It opens the wait set's fds, and for a console that is a pipe
// or /dev/null a non-blocking description of it (see console); Close
// releases them.
func NewCore(console io.Writer) (*Core, error) {
	if console == nil {
		// A nil writer would only fail at the guest's first PUTS; say so
		// now. io.Discard is the explicit way to drop guest output.
		return nil, errors.New("hypercall core: nil console writer (use io.Discard to drop guest output)")
	}
	c := &Core{console: newConsole(console), epfd: -1, timerfd: -1, eventfd: -1,
		pollables: make(map[int]int), stop: make(chan struct{})}
	var err error
	if c.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("hypercall core: creating the wait set: %w", err)
	}
	// TFD_NONBLOCK as upstream: the timerfd is only ever waited on through
	// epoll, never read, and timerfd_settime resets its expiry count.
	if c.timerfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		c.closeFDs()
		return nil, fmt.Errorf("hypercall core: creating the POLL timer: %w", err)
	}
	if c.eventfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		c.closeFDs()
		return nil, fmt.Errorf("hypercall core: creating the interrupt eventfd: %w", err)
	}
	for _, w := range []struct{ fd, tag int }{{c.timerfd, tagTimer}, {c.eventfd, tagInterrupt}} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(w.tag)}
		if err := unix.EpollCtl(c.epfd, unix.EPOLL_CTL_ADD, w.fd, &ev); err != nil {
			c.closeFDs()
			return nil, fmt.Errorf("hypercall core: adding fd %d to the wait set: %w", w.fd, err)
		}
	}
	return c, nil
}

// Register registers WALLTIME, PUTS, POLL and HALT with d (all or none).
func (c *Core) Register(d *Dispatcher) error {
	return d.registerAll([]registration{
		{guestabi.HypercallWalltime, c.walltime},
		{guestabi.HypercallPuts, c.puts},
		{guestabi.HypercallPoll, c.poll},
		{guestabi.HypercallHalt, c.halt},
	})
}

// AddPollable adds fd to the POLL wait set as device handle: when fd polls
// readable (EPOLLIN, level-triggered), POLL sets bit handle of ready_set.
// handle must be a manifest index (1..63) not yet added. The Core never
// reads or closes fd.
func (c *Core) AddPollable(handle int, fd int) error {
	return c.addPollables(map[int]int{handle: fd})
}

// addPollables adds all of handle → fd, or none of them: a module whose
// setup fails must not leave some of its devices in the wait set.
func (c *Core) addPollables(fds map[int]int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	for h, fd := range fds {
		if !validHandle(h) {
			return fmt.Errorf("hypercall core: pollable handle %d is not a manifest index (1..%d)", h, guestabi.ManifestMaxEntries-1)
		}
		if fd < 0 {
			return fmt.Errorf("hypercall core: pollable handle %d: invalid fd %d", h, fd)
		}
		if _, dup := c.pollables[h]; dup {
			return fmt.Errorf("hypercall core: pollable handle %d added twice", h)
		}
	}
	var added []int
	for h, fd := range fds {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(h)}
		if err := unix.EpollCtl(c.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			for _, a := range added {
				// Best effort: the fd was just added, so removal only
				// fails if it was closed meanwhile, which drops it anyway.
				_ = unix.EpollCtl(c.epfd, unix.EPOLL_CTL_DEL, c.pollables[a], nil)
				delete(c.pollables, a)
			}
			return fmt.Errorf("hypercall core: adding fd %d (handle %d) to the wait set: %w", fd, h, err)
		}
		c.pollables[h] = fd
		added = append(added, h)
	}
	return nil
}

// Interrupt makes a POLL or PUTS in progress return ErrInterrupted
// promptly (a PUTS even while the console's Write is blocked), and so
// does every later POLL or PUTS: the interrupt is never cleared, because
// it exists to cancel the guest, and a cancelled guest must not go back
// to sleep. It is safe from any goroutine, at any time, also after Close.
func (c *Core) Interrupt() {
	c.intMu.Lock()
	defer c.intMu.Unlock()
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.ringLocked()
}

// ringLocked makes the interrupt eventfd readable, unless Close released
// it; intMu is held.
func (c *Core) ringLocked() {
	if c.intClosed {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	// The only possible failure is EAGAIN from a counter at its maximum,
	// and then the eventfd is readable already, which is all that matters.
	_, _ = unix.Write(c.eventfd, one[:])
}

// Wake makes a POLL in progress (or the next one, if none is) return
// ErrInterrupted once, without stopping the core as Interrupt does: the
// caller redoes that POLL when it is done (a debugger's Ctrl-C stops a
// guest that sleeps in POLL, then lets it sleep on).
func (c *Core) Wake() {
	c.intMu.Lock()
	defer c.intMu.Unlock()
	c.ringLocked()
}

// Close interrupts any POLL or PUTS in progress, waits for it to return
// and releases the wait set and the console goroutine (which exits once a
// Write it was left in returns, see console). Pollable fds are not closed:
// they belong to the devices. Calling Close again does nothing.
func (c *Core) Close() error {
	c.Interrupt()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.console.close()
	return c.closeFDs()
}

// closeFDs closes whichever of the Core's fds are open.
func (c *Core) closeFDs() error {
	c.intMu.Lock()
	c.intClosed = true
	fds := []*int{&c.eventfd, &c.timerfd, &c.epfd}
	var errs []error
	for _, fd := range fds {
		if *fd >= 0 {
			if err := unix.Close(*fd); err != nil {
				errs = append(errs, fmt.Errorf("hypercall core: closing fd %d: %w", *fd, err))
			}
			*fd = -1
		}
	}
	c.intMu.Unlock()
	return errors.Join(errs...)
}

// walltime is WALLTIME: CLOCK_REALTIME in nanoseconds.
func (c *Core) walltime(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	b, err := checkedWritable(mem, guestabi.HypercallWalltime, arg, guestabi.WalltimeSize)
	if err != nil {
		return nil, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return nil, &Error{Call: guestabi.HypercallWalltime, Err: fmt.Errorf("reading CLOCK_REALTIME: %w", err)}
	}
	// Unsigned arithmetic, as upstream's tv_sec * 1000000000ULL.
	w := guestabi.Walltime{Nsecs: uint64(ts.Sec)*1e9 + uint64(ts.Nsec)}
	w.Encode(b)
	return nil, nil
}

// puts is PUTS: write [data, data+len) to the console.
func (c *Core) puts(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	b, err := checked(mem, guestabi.HypercallPuts, arg, guestabi.PutsSize)
	if err != nil {
		return nil, err
	}
	var p guestabi.Puts
	p.Decode(b)
	data, err := checked(mem, guestabi.HypercallPuts, p.Data, p.Len)
	if err != nil {
		return nil, err
	}
	// Held shared, as POLL does, so Close cannot end the console under a
	// write; Close interrupts the write first.
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, &Error{Call: guestabi.HypercallPuts, Err: ErrClosed}
	}
	// One Write per 64 KiB chunk, as upstream's single write(2) for any
	// real output: a failed or short write is reported, never retried
	// behind the guest's back. Upstream asserts (SIGABRT); here it is an
	// error for the caller to act on.
	if err := c.console.write(data, c.stop); err != nil {
		return nil, &Error{Call: guestabi.HypercallPuts, Err: err}
	}
	return nil, nil
}

// poll is POLL: sleep until a pollable device is readable or the guest's
// relative timeout expires, then report the ready devices.
func (c *Core) poll(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	// Writable up front: the answer goes into the struct, and a guest
	// must not make the host sleep for a result it cannot store.
	b, err := checkedWritable(mem, guestabi.HypercallPoll, arg, guestabi.PollSize)
	if err != nil {
		return nil, err
	}
	var p guestabi.Poll
	p.Decode(b)

	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, &Error{Call: guestabi.HypercallPoll, Err: ErrClosed}
	}
	// Relative and on CLOCK_MONOTONIC, as upstream. tv_nsec |= 1 because a
	// zero it_value disarms a timerfd, and a disarmed timer with no ready
	// device would sleep forever instead of returning at once. Any uint64
	// fits: timeout/1e9 is at most about 1.8e10 seconds, and the kernel
	// clamps what it cannot represent.
	it := unix.ItimerSpec{Value: unix.Timespec{
		Sec:  int64(p.TimeoutNsecs / 1e9),
		Nsec: int64(p.TimeoutNsecs%1e9) | 1,
	}}
	if err := unix.TimerfdSettime(c.timerfd, 0, &it, nil); err != nil {
		return nil, &Error{Call: guestabi.HypercallPoll, Err: fmt.Errorf("arming the timer for %d ns: %w", p.TimeoutNsecs, err)}
	}
	// Room for every fd in the set (63 devices, the timer, the eventfd):
	// level-triggered epoll would report the rest next time, but this POLL
	// must count every ready device now.
	var evs [guestabi.ManifestMaxEntries + 2]unix.EpollEvent
	var n int
	for {
		// unix.EpollWait is epoll_pwait with no signal mask. EINTR is safe
		// to restart: the timer runs on independently of the call.
		n, err = unix.EpollWait(c.epfd, evs[:], -1)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &Error{Call: guestabi.HypercallPoll, Err: fmt.Errorf("waiting on the wait set: %w", err)}
	}
	var ready uint64
	var count int32
	interrupted := false
	for _, ev := range evs[:n] {
		switch h := int(ev.Fd); {
		case h == tagTimer:
			// The timeout: it counts for nothing, as upstream.
		case h == tagInterrupt:
			interrupted = true
		case validHandle(h) && ready&(1<<h) == 0:
			ready |= 1 << h
			count++
		}
	}
	if interrupted {
		select {
		case <-c.stop:
		default:
			// A Wake, not a stop: consumed here, so the POLL redone
			// after it sleeps again.
			var v [8]byte
			_, _ = unix.Read(c.eventfd, v[:])
		}
		// Leave the struct alone: the guest never sees this POLL return.
		return nil, &Error{Call: guestabi.HypercallPoll, Err: ErrInterrupted}
	}
	p.ReadySet = ready
	p.Ret = count
	p.Encode(b)
	return nil, nil
}

// halt is HALT: the guest's exit status and optional cookie.
func (c *Core) halt(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	b, err := checked(mem, guestabi.HypercallHalt, arg, guestabi.HaltSize)
	if err != nil {
		return nil, err
	}
	var h guestabi.Halt
	h.Decode(b)
	out := &Halt{Status: int(h.ExitStatus)}
	if h.Cookie != 0 {
		cookie, err := checked(mem, guestabi.HypercallHalt, h.Cookie, guestabi.HaltCookieMax)
		if err != nil {
			return nil, err
		}
		// A copy: the caller may use it after guest memory is gone.
		out.Cookie = append([]byte(nil), cookie...)
	}
	return out, nil
}
