package hypercall

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// poll runs POLL with timeout and returns the struct after it.
func (e *env) poll(tb testing.TB, timeout uint64) (guestabi.Poll, error) {
	tb.Helper()
	e.put(tb, argGPA, encPoll(timeout))
	_, err := e.call(guestabi.HypercallPoll, argGPA)
	return e.pollAt(tb, argGPA), err
}

func TestPollTimeout(t *testing.T) {
	e := newEnv(t)
	for _, timeout := range []time.Duration{time.Millisecond, 30 * time.Millisecond, 1100 * time.Millisecond} {
		start := time.Now()
		p, err := e.poll(t, uint64(timeout))
		elapsed := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if p.Ret != 0 || p.ReadySet != 0 || p.TimeoutNsecs != uint64(timeout) {
			t.Errorf("timeout %v: struct %+v, want ret 0, ready_set 0", timeout, p)
		}
		// Only the lower bound is certain (no timed upper bounds in tests).
		if elapsed < timeout {
			t.Errorf("timeout %v: returned after %v", timeout, elapsed)
		}
	}
}

// TestPollStaleTimer: a timer that expired in an earlier POLL must not end
// a later one early (timerfd_settime resets the expiry count).
func TestPollStaleTimer(t *testing.T) {
	e := newEnv(t)
	e.net.setReady(t, true)
	// The device ends this POLL; its 1 ms timer expires unobserved.
	if p, err := e.poll(t, uint64(time.Millisecond)); err != nil || p.Ret != 1 {
		t.Fatalf("%+v, %v", p, err)
	}
	time.Sleep(5 * time.Millisecond)
	e.net.setReady(t, false)
	const timeout = 50 * time.Millisecond
	start := time.Now()
	if p, err := e.poll(t, uint64(timeout)); err != nil || p.Ret != 0 {
		t.Fatalf("%+v, %v", p, err)
	}
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("POLL of %v returned after %v: stale timer expiry", timeout, elapsed)
	}
}

func TestPollZeroTimeout(t *testing.T) {
	e := newEnv(t)
	// No pollable at all in this Core: the timer alone must end the POLL.
	_, d := registeredCore(t, io.Discard)
	for i := 0; i < 100; i++ {
		e.put(t, argGPA, encPoll(0))
		if _, err := d.Dispatch(e.mem, uint64(guestabi.HypercallPoll), argGPA); err != nil {
			t.Fatal(err)
		}
		if p := e.pollAt(t, argGPA); p.Ret != 0 || p.ReadySet != 0 {
			t.Fatalf("struct %+v, want ret 0, ready_set 0", p)
		}
	}
}

func TestPollReady(t *testing.T) {
	e := newEnv(t)
	// Two more pollables the test controls, beside the net device (2).
	var extra [2]int
	for i, h := range []int{5, 63} {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := e.core.AddPollable(h, fd); err != nil {
			t.Fatal(err)
		}
		extra[i] = fd
	}
	tests := []struct {
		name         string
		net, e5, e63 bool
		wantSet      uint64
		wantRet      int32
		timeoutNsecs uint64
	}{
		{"net only", true, false, false, 1 << hNet, 1, 3600e9},
		{"handle 63", false, false, true, 1 << 63, 1, 3600e9},
		{"all three", true, true, true, 1<<hNet | 1<<5 | 1<<63, 3, 3600e9},
		// Ready fds are on epoll's ready list before the wait, so even a
		// 1 ns timer cannot hide them.
		{"ready with zero timeout", false, true, false, 1 << 5, 1, 0},
		{"all three with zero timeout", true, true, true, 1<<hNet | 1<<5 | 1<<63, 3, 0},
		{"none", false, false, false, 0, 0, 1e6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.net.setReady(t, tt.net)
			setEventfd(t, extra[0], tt.e5)
			setEventfd(t, extra[1], tt.e63)
			defer func() {
				e.net.setReady(t, false)
				setEventfd(t, extra[0], false)
				setEventfd(t, extra[1], false)
			}()
			p, err := e.poll(t, tt.timeoutNsecs)
			if err != nil {
				t.Fatal(err)
			}
			if p.ReadySet != tt.wantSet || p.Ret != tt.wantRet {
				t.Errorf("ready_set %#x ret %d, want %#x %d", p.ReadySet, p.Ret, tt.wantSet, tt.wantRet)
			}
		})
	}
	// Block devices are never in the set, even when they would be "ready".
	if _, ok := e.core.pollables[hBlock]; ok {
		t.Error("a block device is in the wait set")
	}
}

func TestPollInterrupt(t *testing.T) {
	e := newEnv(t)
	const hour = uint64(3600e9)
	for _, timeout := range []uint64{hour, math.MaxUint64} {
		e := newEnv(t)
		done := make(chan struct{})
		go func() {
			// Give the POLL a chance to be asleep first; correctness does not
			// depend on it (an early Interrupt is latched).
			time.Sleep(20 * time.Millisecond)
			e.core.Interrupt()
			close(done)
		}()
		e.put(t, argGPA, encPoll(timeout))
		_, err := e.call(guestabi.HypercallPoll, argGPA)
		<-done
		var he *Error
		if !errors.Is(err, ErrInterrupted) || !errors.As(err, &he) || he.Call != guestabi.HypercallPoll || errors.Is(err, ErrGuest) {
			t.Fatalf("timeout %d: got %v, want a POLL *Error wrapping ErrInterrupted", timeout, err)
		}
		if p := e.pollAt(t, argGPA); p.ReadySet != 0xdead || p.Ret != retMark {
			t.Errorf("interrupted POLL wrote its struct: %+v", p)
		}
	}

	// An Interrupt before the POLL ends it at once, and stays: every later
	// POLL is interrupted too, even with a device ready.
	e.core.Interrupt()
	e.net.setReady(t, true)
	for i := 0; i < 3; i++ {
		if _, err := e.poll(t, hour); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("POLL %d after Interrupt: %v", i, err)
		}
	}
	// The other hypercalls are not affected.
	e.put(t, argGPA, encNet(hNet, bufGPA, 64))
	if _, err := e.call(guestabi.HypercallNetRead, argGPA); err != nil {
		t.Fatal(err)
	}
}

// TestPollWake: Wake ends one POLL (asleep, or the next one) and is then
// spent: the POLL after it sleeps to its timeout or a ready device.
func TestPollWake(t *testing.T) {
	e := newEnv(t)
	const hour = uint64(3600e9)
	done := make(chan struct{})
	go func() {
		time.Sleep(20 * time.Millisecond) // asleep first, usually; an early Wake is latched
		e.core.Wake()
		close(done)
	}()
	if _, err := e.poll(t, hour); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("POLL woken: %v, want ErrInterrupted", err)
	}
	<-done
	// Spent: a POLL with a short timeout times out, as if never woken.
	if _, err := e.poll(t, 1e6); err != nil {
		t.Fatalf("POLL after the Wake: %v", err)
	}
	// A Wake before the POLL ends it at once; several count as one.
	e.core.Wake()
	e.core.Wake()
	if _, err := e.poll(t, hour); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("POLL after two Wakes: %v, want ErrInterrupted", err)
	}
	e.net.setReady(t, true)
	if p, err := e.poll(t, hour); err != nil || p.Ret != 1 {
		t.Fatalf("POLL with a device ready after the Wake: %+v, %v", p, err)
	}
	// Interrupt is stronger: it stays.
	e.core.Interrupt()
	e.core.Wake()
	for i := 0; i < 2; i++ {
		if _, err := e.poll(t, hour); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("POLL %d after Interrupt and Wake: %v", i, err)
		}
	}
}

// TestCloseDuringPoll: Close ends a sleeping POLL and waits for it.
func TestCloseDuringPoll(t *testing.T) {
	e := newEnv(t)
	errc := make(chan error, 1)
	e.put(t, argGPA, encPoll(3600e9))
	go func() {
		_, err := e.call(guestabi.HypercallPoll, argGPA)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := e.core.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrInterrupted) && !errors.Is(err, ErrClosed) {
		t.Fatalf("POLL during Close: %v", err)
	}
}

func TestCoreClose(t *testing.T) {
	mem, err := guestmem.New(memSize)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	// Warm up anything the runtime opens lazily, so the count is fair.
	if c, err := NewCore(io.Discard); err == nil {
		c.Close()
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)

	before := openFDs(t)
	for i := 0; i < 10; i++ {
		core, err := NewCore(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDispatcher()
		if err := core.Register(d); err != nil {
			t.Fatal(err)
		}
		if err := core.AddPollable(7, efd); err != nil {
			t.Fatal(err)
		}
		b, _ := mem.Bytes(argGPA, guestabi.PollSize)
		(&guestabi.Poll{TimeoutNsecs: 1000}).Encode(b)
		if _, err := d.Dispatch(mem, uint64(guestabi.HypercallPoll), argGPA); err != nil {
			t.Fatal(err)
		}
		if err := core.Close(); err != nil {
			t.Fatal(err)
		}
		// Everything after Close is harmless.
		if err := core.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		core.Interrupt()
		if _, err := d.Dispatch(mem, uint64(guestabi.HypercallPoll), argGPA); !errors.Is(err, ErrClosed) {
			t.Errorf("POLL after Close: %v", err)
		}
		if err := core.AddPollable(8, efd); !errors.Is(err, ErrClosed) {
			t.Errorf("AddPollable after Close: %v", err)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds: %d before, %d after", before, after)
	}
	// The pollable fd is the device's: Close must leave it open.
	if _, err := unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Errorf("Close closed a pollable fd: %v", err)
	}
}

// TestEnvNoLeak: a whole environment (memory, core, modules, fakes)
// releases every fd.
func TestEnvNoLeak(t *testing.T) {
	before := openFDs(t)
	t.Run("env", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.poll(t, 0); err != nil {
			t.Fatal(err)
		}
	})
	if after := openFDs(t); after != before {
		t.Errorf("open fds: %d before, %d after", before, after)
	}
}

func TestAddPollable(t *testing.T) {
	core, err := NewCore(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	for _, tc := range []struct {
		handle, fd int
	}{{0, efd}, {-1, efd}, {64, efd}, {1 << 40, efd}, {1, -1}, {1, 1 << 30}} {
		if err := core.AddPollable(tc.handle, tc.fd); err == nil {
			t.Errorf("AddPollable(%d, %d) succeeded", tc.handle, tc.fd)
		}
	}
	if err := core.AddPollable(1, efd); err != nil {
		t.Fatal(err)
	}
	if err := core.AddPollable(1, efd); err == nil {
		t.Error("AddPollable of a handle twice succeeded")
	}
}
