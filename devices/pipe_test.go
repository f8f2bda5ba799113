package devices

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func newTestPipe(t *testing.T, opts PipeOptions) (*PipeEnd, *PipeEnd) {
	t.Helper()
	a, b, err := NewPipe(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return a, b
}

// frame returns an n-byte frame whose bytes identify tag.
func frame(tag byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = tag + byte(i)
	}
	return p
}

// readable polls fd without waiting.
func readable(t *testing.T, fd int) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		return n == 1 && fds[0].Revents&unix.POLLIN != 0
	}
}

func TestPipeFramesBothWays(t *testing.T) {
	checkNoFDLeak(t)
	a, b := newTestPipe(t, PipeOptions{})
	buf := make([]byte, 1514)
	for _, tc := range []struct {
		name     string
		from, to *PipeEnd
		tag      byte
	}{
		{"a to b", a, b, 1},
		{"b to a", b, a, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Several frames, to check order; the sender's buffer is
			// overwritten after each write, to check frames are copied.
			src := make([]byte, 100)
			for i := range 3 {
				copy(src, frame(tc.tag+byte(i), len(src)))
				if err := tc.from.WriteFrame(src[:60+i]); err != nil {
					t.Fatal(err)
				}
			}
			clear(src)
			for i := range 3 {
				n, err := tc.to.ReadFrame(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:n], frame(tc.tag+byte(i), 60+i)) {
					t.Fatalf("frame %d: got % x", i, buf[:n])
				}
			}
			if _, err := tc.to.ReadFrame(buf); err != ErrWouldBlock {
				t.Fatalf("empty queue: %v, want ErrWouldBlock", err)
			}
			if _, err := tc.from.ReadFrame(buf); err != ErrWouldBlock {
				t.Fatalf("sender's own queue: %v, want ErrWouldBlock", err)
			}
		})
	}
}

func TestPipeTruncates(t *testing.T) {
	a, b := newTestPipe(t, PipeOptions{})
	if err := a.WriteFrame(frame(9, 100)); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 20)
	n, err := b.ReadFrame(small)
	if err != nil || n != 20 || !bytes.Equal(small, frame(9, 20)) {
		t.Fatalf("truncated read: %d, %v", n, err)
	}
	// The rest of a truncated frame is gone, as with a tap.
	if _, err := b.ReadFrame(small); err != ErrWouldBlock {
		t.Fatalf("after truncated read: %v", err)
	}
}

func TestPipeReadyFD(t *testing.T) {
	checkNoFDLeak(t)
	a, b := newTestPipe(t, PipeOptions{})
	buf := make([]byte, 1514)
	fa, fb := a.ReadyFD(), b.ReadyFD()
	if fa < 0 || fb < 0 || fa == fb {
		t.Fatalf("ReadyFD %d %d", fa, fb)
	}
	for _, fd := range []int{fa, fb} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NONBLOCK == 0 {
			t.Errorf("fd %d F_GETFL %#x %v: want O_NONBLOCK", fd, fl, err)
		}
		fl, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || fl&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d F_GETFD %#x %v: want FD_CLOEXEC", fd, fl, err)
		}
	}
	steps := []struct {
		name   string
		do     func() error
		wantA  bool
		wantB  bool
		expect string
	}{
		{"fresh", func() error { return nil }, false, false, ""},
		{"a sends one", func() error { return a.WriteFrame(frame(1, 64)) }, false, true, ""},
		{"a sends another", func() error { return a.WriteFrame(frame(2, 64)) }, false, true, ""},
		{"b reads one of two", func() error { _, err := b.ReadFrame(buf); return err }, false, true, ""},
		{"b reads the last", func() error { _, err := b.ReadFrame(buf); return err }, false, false, ""},
		{"b finds nothing", func() error {
			if _, err := b.ReadFrame(buf); err != ErrWouldBlock {
				return err
			}
			return nil
		}, false, false, ""},
		{"b sends", func() error { return b.WriteFrame(frame(3, 64)) }, true, false, ""},
		{"a reads", func() error { _, err := a.ReadFrame(buf); return err }, false, false, ""},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := readable(t, fa); got != s.wantA {
			t.Errorf("%s: a readable = %v, want %v", s.name, got, s.wantA)
		}
		if got := readable(t, fb); got != s.wantB {
			t.Errorf("%s: b readable = %v, want %v", s.name, got, s.wantB)
		}
	}
}

// TestPipeReadyFDEpoll checks the level-triggered contract the monitor
// relies on: epoll keeps reporting the fd while a frame is waiting.
func TestPipeReadyFDEpoll(t *testing.T) {
	checkNoFDLeak(t)
	a, b := newTestPipe(t, PipeOptions{})
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, b.ReadyFD(), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(b.ReadyFD())}); err != nil {
		t.Fatal(err)
	}
	wait := func() int {
		ev := make([]unix.EpollEvent, 1)
		for {
			n, err := unix.EpollWait(ep, ev, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	if n := wait(); n != 0 {
		t.Fatalf("empty: %d events", n)
	}
	if err := a.WriteFrame(frame(1, 64)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if n := wait(); n != 1 {
			t.Fatalf("wait %d with a frame queued: %d events", i, n)
		}
	}
	if _, err := b.ReadFrame(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if n := wait(); n != 0 {
		t.Fatalf("drained: %d events", n)
	}
}

func TestPipeFrameSize(t *testing.T) {
	for _, tc := range []struct {
		mtu    int
		n      int
		wantOK bool
	}{
		{0, 13, false},
		{0, 0, false},
		{0, 14, true},
		{0, 1514, true},
		{0, 1515, false},
		{9000, 9014, true},
		{9000, 9015, false},
		{68, 82, true},
		{68, 83, false},
	} {
		a, b, err := NewPipe(PipeOptions{MTU: tc.mtu})
		if err != nil {
			t.Fatal(err)
		}
		err = a.WriteFrame(make([]byte, tc.n))
		if tc.wantOK != (err == nil) || (err != nil && !errors.Is(err, ErrFrameSize)) {
			t.Errorf("MTU %d, %d-byte frame: %v", tc.mtu, tc.n, err)
		}
		want := tc.mtu
		if want == 0 {
			want = DefaultPipeMTU
		}
		if got := b.MTU(); got != want {
			t.Errorf("MTU() = %d, want %d", got, want)
		}
		a.Close()
		b.Close()
	}
}

func TestPipeOverflow(t *testing.T) {
	a, b := newTestPipe(t, PipeOptions{QueueLen: 4})
	for i := range 10 {
		if err := a.WriteFrame(frame(byte(i), 64)); err != nil {
			t.Fatalf("write %d: %v (a full queue drops, it does not fail)", i, err)
		}
	}
	if b.Dropped() != 6 || a.Dropped() != 0 {
		t.Fatalf("Dropped: b %d, a %d; want 6 and 0", b.Dropped(), a.Dropped())
	}
	buf := make([]byte, 64)
	// The first four arrived; the later ones were dropped.
	for i := range 4 {
		n, err := b.ReadFrame(buf)
		if err != nil || !bytes.Equal(buf[:n], frame(byte(i), 64)) {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if _, err := b.ReadFrame(buf); err != ErrWouldBlock {
		t.Fatalf("after queue: %v", err)
	}
	// Room again: the ring wraps around.
	for i := range 4 {
		if err := a.WriteFrame(frame(byte(20+i), 64)); err != nil {
			t.Fatal(err)
		}
	}
	if b.Dropped() != 6 {
		t.Fatalf("Dropped %d after refilling", b.Dropped())
	}
	for i := range 4 {
		n, err := b.ReadFrame(buf)
		if err != nil || !bytes.Equal(buf[:n], frame(byte(20+i), 64)) {
			t.Fatalf("wrapped read %d: %v", i, err)
		}
	}
}

func TestPipeClose(t *testing.T) {
	checkNoFDLeak(t)
	a, b, err := NewPipe(PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	buf := make([]byte, 1514)
	if err := a.WriteFrame(frame(1, 64)); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFrame(frame(2, 64)); err != nil {
		t.Fatal(err)
	}
	fb := b.ReadyFD()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// The closed end.
	if a.ReadyFD() != -1 {
		t.Errorf("closed ReadyFD = %d", a.ReadyFD())
	}
	if _, err := a.ReadFrame(buf); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadFrame on closed end: %v, want os.ErrClosed", err)
	}
	if err := a.WriteFrame(frame(3, 64)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WriteFrame on closed end: %v, want os.ErrClosed", err)
	}
	if _, err := a.ReadFrameContext(context.Background(), buf); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadFrameContext on closed end: %v, want os.ErrClosed", err)
	}

	// The surviving end: writes fail, queued frames still arrive, then
	// EOF, and the fd stays readable so a poller sees the EOF.
	if err := b.WriteFrame(frame(4, 64)); !errors.Is(err, ErrPeerClosed) {
		t.Errorf("WriteFrame to closed peer: %v", err)
	}
	if !readable(t, fb) {
		t.Error("frame queued: not readable")
	}
	if n, err := b.ReadFrame(buf); err != nil || !bytes.Equal(buf[:n], frame(1, 64)) {
		t.Errorf("queued frame after peer close: %v", err)
	}
	for range 2 {
		if !readable(t, fb) {
			t.Error("at EOF: not readable")
		}
		if _, err := b.ReadFrame(buf); err != io.EOF {
			t.Errorf("ReadFrame at EOF: %v", err)
		}
		if _, err := b.ReadFrameContext(context.Background(), buf); err != io.EOF {
			t.Errorf("ReadFrameContext at EOF: %v", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPipeReadFrameContext(t *testing.T) {
	checkNoFDLeak(t)
	buf := make([]byte, 1514)

	t.Run("frame", func(t *testing.T) {
		a, b := newTestPipe(t, PipeOptions{})
		type result struct {
			n   int
			err error
		}
		done := make(chan result)
		go func() {
			n, err := b.ReadFrameContext(context.Background(), buf)
			done <- result{n, err}
		}()
		if err := a.WriteFrame(frame(5, 99)); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || !bytes.Equal(buf[:r.n], frame(5, 99)) {
			t.Fatalf("got %d, %v", r.n, r.err)
		}
		if readable(t, b.ReadyFD()) {
			t.Error("ReadyFD still readable after ReadFrameContext took the only frame")
		}
	})
	for _, tc := range []struct {
		name string
		do   func(a, b *PipeEnd, cancel context.CancelFunc)
		want error
	}{
		{"cancel", func(a, b *PipeEnd, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"peer closes", func(a, b *PipeEnd, cancel context.CancelFunc) { a.Close() }, io.EOF},
		{"own end closes", func(a, b *PipeEnd, cancel context.CancelFunc) { b.Close() }, os.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newTestPipe(t, PipeOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error)
			go func() {
				_, err := b.ReadFrameContext(ctx, make([]byte, 64))
				done <- err
			}()
			tc.do(a, b, cancel)
			if err := <-done; !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPipeOptionsErrors(t *testing.T) {
	checkNoFDLeak(t)
	for _, tc := range []struct {
		name string
		opts PipeOptions
	}{
		{"negative MTU", PipeOptions{MTU: -1}},
		{"tiny MTU", PipeOptions{MTU: 67}},
		{"huge MTU", PipeOptions{MTU: 65536}},
		{"negative queue", PipeOptions{QueueLen: -1}},
		{"huge queue", PipeOptions{QueueLen: MaxPipeQueueLen + 1}},
		{"multicast MAC", PipeOptions{MACs: [2]MAC{{}, {0x01, 0, 0x5e, 0, 0, 1}}}},
		{"broadcast MAC", PipeOptions{MACs: [2]MAC{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}}},
	} {
		if a, b, err := NewPipe(tc.opts); err == nil {
			a.Close()
			b.Close()
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestPipeMACs(t *testing.T) {
	m0 := MAC{2, 0, 0, 0, 0, 1}
	// The zero MAC asks for a random one.
	a, b := newTestPipe(t, PipeOptions{MACs: [2]MAC{m0, {}}})
	if a.MAC() != m0 {
		t.Errorf("a.MAC() = %v, want %v", a.MAC(), m0)
	}
	if err := checkGuestMAC(b.MAC()); err != nil || b.MAC()[0]&2 == 0 {
		t.Errorf("random b.MAC() = %v: %v", b.MAC(), err)
	}
	if a.MTU() != DefaultPipeMTU || b.MTU() != DefaultPipeMTU {
		t.Errorf("MTU %d %d", a.MTU(), b.MTU())
	}
}

// TestPipeConcurrent has several writers race a blocking reader; every
// frame is either received or counted as dropped, and closing the
// writing end delivers what is queued before io.EOF. Run with -race.
func TestPipeConcurrent(t *testing.T) {
	checkNoFDLeak(t)
	const writers, perWriter = 4, 500
	a, b, err := NewPipe(PipeOptions{QueueLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	received := make(chan int)
	go func() {
		buf := make([]byte, 1514)
		n := 0
		for {
			_, err := b.ReadFrameContext(context.Background(), buf)
			if err != nil {
				if err != io.EOF {
					t.Errorf("reader: %v", err)
				}
				received <- n
				return
			}
			n++
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for j := range perWriter {
				if err := a.WriteFrame(frame(byte(w+j), 64)); err != nil {
					t.Error(err)
					return
				}
				_ = b.ReadyFD()
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := <-received
	if total := uint64(got) + b.Dropped(); total != writers*perWriter {
		t.Fatalf("received %d + dropped %d = %d, want %d", got, b.Dropped(), total, writers*perWriter)
	}
	t.Logf("received %d, dropped %d", got, b.Dropped())
}
