package devices

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Pipe defaults and limits.
const (
	// DefaultPipeMTU is the MTU of a pipe whose options give none.
	DefaultPipeMTU = 1500
	// DefaultPipeQueueLen is the per-end receive queue length of a pipe
	// whose options give none.
	DefaultPipeQueueLen = 256
	// MinPipeMTU is IPv4's minimum MTU; anything smaller cannot carry
	// an IP header and options.
	MinPipeMTU = 68
	// MaxPipeMTU keeps a frame's length within the 16-bit sizes that
	// network stacks use for it.
	MaxPipeMTU = 65535
	// MaxPipeQueueLen bounds the memory one end may hold: a full queue
	// is MaxPipeQueueLen frames of up to MTU+14 bytes.
	MaxPipeQueueLen = 1 << 16
)

// ethHeaderLen is the Ethernet header that MTU excludes.
const ethHeaderLen = 14

// ErrPeerClosed is returned by PipeEnd.WriteFrame once the other end has
// been closed.
var ErrPeerClosed = errors.New("the other end of the pipe is closed")

// ErrFrameSize is returned by PipeEnd.WriteFrame for a frame shorter than
// an Ethernet header or longer than MTU+14 bytes. A tap refuses the same
// frames.
var ErrFrameSize = errors.New("frame size outside [14, MTU+14] bytes")

// PipeOptions configures NewPipe. The zero value is usable.
type PipeOptions struct {
	// MTU excludes the 14-byte Ethernet header; 0 means DefaultPipeMTU.
	MTU int
	// MACs are the two ends' guest addresses; a zero entry gets
	// RandomMAC().
	MACs [2]MAC
	// QueueLen is how many frames each end buffers before dropping;
	// 0 means DefaultPipeQueueLen.
	QueueLen int
}

// pipeShared is the state both ends of one pipe share. One mutex for the
// pair keeps the close and hand-over logic free of lock ordering.
type pipeShared struct {
	mu  sync.Mutex
	mtu int
}

// PipeEnd is one end of an in-process Ethernet link made by NewPipe: a
// frame written to one end is queued, as a copy, for reading at the
// other. It implements Net, so two guests (or a guest and Go code) can be
// wired together with no tap and no privileges. Its methods are safe for
// concurrent use.
//
// Readiness: ReadyFD is an eventfd that is readable exactly while this
// end has a frame queued, or once the other end has closed (so a waiter
// wakes up and sees io.EOF); reading frames is what clears it.
//
// Overflow: like a NIC whose receive ring is full, a frame arriving at a
// full queue is dropped and counted in the receiving end's Dropped; the
// sender's WriteFrame still succeeds.
//
// Closing: after one end's Close, the other end's WriteFrame fails with
// ErrPeerClosed, and its ReadFrame returns the frames still queued and
// then io.EOF (not ErrWouldBlock: a peer that is gone will never send
// again, and a monitor should treat that like a tap read error). The
// closed end's own methods fail with an error wrapping os.ErrClosed, and
// its ReadyFD is -1.
type PipeEnd struct {
	sh    *pipeShared
	peer  *PipeEnd
	index int
	mac   MAC

	dropped atomic.Uint64

	// Guarded by sh.mu.
	slots      [][]byte // ring of received frames; buffers are reused
	head       int
	count      int
	efd        int  // eventfd; -1 once closed
	signalled  bool // efd's counter is non-zero
	closed     bool
	peerClosed bool
	// wake, when non-nil, is closed at the next state change to wake
	// ReadFrameContext callers; it is made only when someone waits.
	wake chan struct{}
}

var _ Net = (*PipeEnd)(nil)

// NewPipe returns the two connected ends of a new in-process link. Both
// must be closed.
func NewPipe(opts PipeOptions) (*PipeEnd, *PipeEnd, error) {
	mtu := opts.MTU
	if mtu == 0 {
		mtu = DefaultPipeMTU
	}
	if mtu < MinPipeMTU || mtu > MaxPipeMTU {
		return nil, nil, fmt.Errorf("pipe: MTU %d outside [%d, %d]", mtu, MinPipeMTU, MaxPipeMTU)
	}
	qlen := opts.QueueLen
	if qlen == 0 {
		qlen = DefaultPipeQueueLen
	}
	if qlen < 1 || qlen > MaxPipeQueueLen {
		return nil, nil, fmt.Errorf("pipe: queue length %d outside [1, %d]", qlen, MaxPipeQueueLen)
	}
	macs := opts.MACs
	for i, m := range macs {
		if m == (MAC{}) {
			macs[i] = RandomMAC()
		} else if err := checkGuestMAC(m); err != nil {
			return nil, nil, fmt.Errorf("pipe: MAC of end %d: %w", i, err)
		}
	}

	sh := &pipeShared{mtu: mtu}
	var ends [2]*PipeEnd
	for i := range ends {
		// Non-blocking so draining an already-clear counter can never
		// hang; close-on-exec so it does not leak into child processes.
		efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			if i == 1 {
				unix.Close(ends[0].efd)
			}
			return nil, nil, fmt.Errorf("pipe: eventfd: %w", err)
		}
		ends[i] = &PipeEnd{sh: sh, index: i, mac: macs[i], slots: make([][]byte, qlen), efd: efd}
	}
	ends[0].peer, ends[1].peer = ends[1], ends[0]
	return ends[0], ends[1], nil
}

// MAC is this end's guest address.
func (e *PipeEnd) MAC() MAC { return e.mac }

// MTU is the link's MTU, the same at both ends.
func (e *PipeEnd) MTU() int { return e.sh.mtu }

// Dropped counts frames sent to this end that were dropped because its
// receive queue was full.
func (e *PipeEnd) Dropped() uint64 { return e.dropped.Load() }

// ReadyFD is this end's eventfd, or -1 after Close. See PipeEnd for when
// it is readable.
func (e *PipeEnd) ReadyFD() int {
	e.sh.mu.Lock()
	defer e.sh.mu.Unlock()
	return e.efd
}

// WriteFrame queues a copy of p at the other end. See PipeEnd for what
// happens when that queue is full or that end is closed.
func (e *PipeEnd) WriteFrame(p []byte) error {
	e.sh.mu.Lock()
	defer e.sh.mu.Unlock()
	switch {
	case e.closed:
		return fmt.Errorf("pipe end %d: write: %w", e.index, os.ErrClosed)
	case len(p) < ethHeaderLen || len(p) > e.sh.mtu+ethHeaderLen:
		return fmt.Errorf("pipe end %d: write of %d bytes with MTU %d: %w", e.index, len(p), e.sh.mtu, ErrFrameSize)
	case e.peerClosed:
		return fmt.Errorf("pipe end %d: write: %w", e.index, ErrPeerClosed)
	}
	q := e.peer
	if q.count == len(q.slots) {
		q.dropped.Add(1)
		return nil
	}
	i := (q.head + q.count) % len(q.slots)
	if q.slots[i] == nil {
		// Sized for the largest frame once, then reused for every frame
		// through this slot, so steady traffic allocates nothing.
		q.slots[i] = make([]byte, 0, e.sh.mtu+ethHeaderLen)
	}
	q.slots[i] = append(q.slots[i][:0], p...)
	q.count++
	q.notify()
	return q.syncReady()
}

// ReadFrame copies the next queued frame into p, truncating it to
// len(p). It returns ErrWouldBlock when nothing is queued, io.EOF when
// nothing is queued and the other end has closed.
func (e *PipeEnd) ReadFrame(p []byte) (int, error) {
	e.sh.mu.Lock()
	defer e.sh.mu.Unlock()
	return e.readLocked(p)
}

// ReadFrameContext is ReadFrame for Go code that wants to wait: it blocks
// until a frame arrives, the other end closes (io.EOF), this end closes
// (an error wrapping os.ErrClosed) or ctx is done (ctx.Err()). It sleeps
// on a channel that every state change closes, not in a polling loop,
// and keeps ReadyFD's readiness in step exactly as ReadFrame does.
func (e *PipeEnd) ReadFrameContext(ctx context.Context, p []byte) (int, error) {
	for {
		e.sh.mu.Lock()
		n, err := e.readLocked(p)
		if err != ErrWouldBlock {
			e.sh.mu.Unlock()
			return n, err
		}
		if e.wake == nil {
			e.wake = make(chan struct{})
		}
		wake := e.wake
		e.sh.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (e *PipeEnd) readLocked(p []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("pipe end %d: read: %w", e.index, os.ErrClosed)
	}
	if e.count == 0 {
		if e.peerClosed {
			return 0, io.EOF
		}
		return 0, ErrWouldBlock
	}
	n := copy(p, e.slots[e.head])
	e.head = (e.head + 1) % len(e.slots)
	e.count--
	if err := e.syncReady(); err != nil {
		return 0, err
	}
	return n, nil
}

// notify wakes ReadFrameContext callers. Called with sh.mu held.
func (e *PipeEnd) notify() {
	if e.wake != nil {
		close(e.wake)
		e.wake = nil
	}
}

// syncReady makes the eventfd's readability match the queue: it writes 1
// when the end becomes ready and drains the counter when it stops being
// ready, so epoll sees a level, not a count of frames. Called with sh.mu
// held, which is what makes the flag and the counter agree.
func (e *PipeEnd) syncReady() error {
	want := e.count > 0 || e.peerClosed
	if e.closed || want == e.signalled {
		return nil
	}
	var buf [8]byte
	var err error
	if want {
		binary.NativeEndian.PutUint64(buf[:], 1)
		_, err = unix.Write(e.efd, buf[:])
	} else {
		_, err = unix.Read(e.efd, buf[:])
	}
	if err != nil {
		return fmt.Errorf("pipe end %d: eventfd: %w", e.index, err)
	}
	e.signalled = want
	return nil
}

// Close closes this end and its eventfd; see PipeEnd for what the other
// end sees. Later calls return nil.
func (e *PipeEnd) Close() error {
	e.sh.mu.Lock()
	defer e.sh.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.slots, e.head, e.count = nil, 0, 0
	e.notify()
	err := unix.Close(e.efd)
	e.efd = -1

	p := e.peer
	p.peerClosed = true
	p.notify()
	if serr := p.syncReady(); serr != nil && err == nil {
		return serr
	}
	if err != nil {
		return fmt.Errorf("pipe end %d: close eventfd: %w", e.index, err)
	}
	return nil
}
