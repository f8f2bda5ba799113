package hypercall

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Guest memory and placement used by the tests.
const (
	memSize = 4 * guestmem.MiB
	argGPA  = 0x1000 // argument structs
	bufGPA  = 0x4000 // buffers
	retMark = 0x77   // a ret value no handler writes, to see untouched structs
	lenMark = 0x5555 // a NET_READ len to see it unchanged
)

// Devices every test environment has, by manifest handle.
const (
	hBlock   = 1 // 512-byte blocks, 8 of them
	hNet     = 2
	hBlockRO = 3 // read-only, 4096-byte blocks, 2 of them
	blkBS    = 512
	blkCap   = 8 * blkBS
	netMTU   = 1500
)

// fakeBlock is an in-memory devices.Block whose failures tests choose.
type fakeBlock struct {
	data     []byte
	bs       uint16
	readOnly bool
	err      error // returned by ReadAt and WriteAt when set
	short    bool  // transfer one byte less than asked
	eof      bool  // ReadAt reports io.EOF with a full read (allowed by io.ReaderAt)
	calls    int
}

func newFakeBlock(capacity int, bs uint16) *fakeBlock {
	return &fakeBlock{data: make([]byte, capacity), bs: bs}
}

func (b *fakeBlock) io(p []byte, off int64, write bool) (int, error) {
	b.calls++
	if b.err != nil {
		return 0, b.err
	}
	if write && b.readOnly {
		return 0, devices.ErrReadOnly
	}
	if off < 0 || off+int64(len(p)) > int64(len(b.data)) {
		return 0, errors.New("fakeBlock: out of range (the monitor must never ask)")
	}
	n := len(p)
	if b.short {
		n--
	}
	if write {
		copy(b.data[off:], p[:n])
	} else {
		copy(p[:n], b.data[off:])
	}
	if !write && b.eof && !b.short {
		return n, io.EOF
	}
	return n, nil
}

func (b *fakeBlock) ReadAt(p []byte, off int64) (int, error)  { return b.io(p, off, false) }
func (b *fakeBlock) WriteAt(p []byte, off int64) (int, error) { return b.io(p, off, true) }
func (b *fakeBlock) Capacity() uint64                         { return uint64(len(b.data)) }
func (b *fakeBlock) BlockSize() uint16                        { return b.bs }
func (b *fakeBlock) Close() error                             { return nil }

// fakeNet is a devices.Net with a frame queue and an eventfd for ReadyFD
// that the test makes readable or not.
type fakeNet struct {
	mtu      int
	efd      int
	rx       [][]byte // frames ReadFrame returns, in order
	tx       [][]byte // frames WriteFrame got
	readErr  error
	writeErr error
	zeroRead bool // ReadFrame returns (0, nil)
}

func newFakeNet(tb testing.TB, mtu int) *fakeNet {
	tb.Helper()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(efd) })
	return &fakeNet{mtu: mtu, efd: efd}
}

func (n *fakeNet) ReadFrame(p []byte) (int, error) {
	switch {
	case n.readErr != nil:
		return 0, n.readErr
	case n.zeroRead:
		return 0, nil
	case len(n.rx) == 0:
		return 0, devices.ErrWouldBlock
	}
	c := copy(p, n.rx[0])
	n.rx = n.rx[1:]
	return c, nil
}

func (n *fakeNet) WriteFrame(p []byte) error {
	if n.writeErr != nil {
		return n.writeErr
	}
	n.tx = append(n.tx, append([]byte(nil), p...))
	return nil
}

func (n *fakeNet) MAC() devices.MAC { return devices.MAC{2, 0, 0, 0, 0, 1} }
func (n *fakeNet) MTU() int         { return n.mtu }
func (n *fakeNet) ReadyFD() int     { return n.efd }
func (n *fakeNet) Close() error     { return nil }

// setReady makes the fake's ReadyFD readable (or not).
func (n *fakeNet) setReady(tb testing.TB, ready bool) {
	tb.Helper()
	setEventfd(tb, n.efd, ready)
}

// setEventfd makes an eventfd readable, or drains it.
func setEventfd(tb testing.TB, fd int, ready bool) {
	tb.Helper()
	var b [8]byte
	if ready {
		binary.NativeEndian.PutUint64(b[:], 1)
		if _, err := unix.Write(fd, b[:]); err != nil {
			tb.Fatal(err)
		}
		return
	}
	if _, err := unix.Read(fd, b[:]); err != nil && err != unix.EAGAIN {
		tb.Fatal(err)
	}
}

// env is guest memory plus a dispatcher with every module registered.
type env struct {
	mem     *guestmem.Memory
	d       *Dispatcher
	core    *Core
	console *bytes.Buffer
	blk     *fakeBlock
	blkRO   *fakeBlock
	net     *fakeNet
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	mem, err := guestmem.New(memSize)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mem.Close() })
	e := &env{mem: mem, d: NewDispatcher(), console: new(bytes.Buffer)}
	if e.core, err = NewCore(e.console); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.core.Close() })
	e.blk = newFakeBlock(blkCap, blkBS)
	e.blkRO = newFakeBlock(2*4096, 4096)
	e.blkRO.readOnly = true
	e.net = newFakeNet(tb, netMTU)
	for _, err := range []error{
		e.core.Register(e.d),
		NewBlock(map[int]devices.Block{hBlock: e.blk, hBlockRO: e.blkRO}).Register(e.d),
		NewNet(map[int]devices.Net{hNet: e.net}, e.core).Register(e.d),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// bytesAt returns guest memory [gpa, gpa+n) through the checked accessor.
func (e *env) bytesAt(tb testing.TB, gpa, n uint64) []byte {
	tb.Helper()
	b, err := e.mem.Bytes(gpa, n)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (e *env) put(tb testing.TB, gpa uint64, data []byte) {
	tb.Helper()
	copy(e.bytesAt(tb, gpa, uint64(len(data))), data)
}

func (e *env) call(nr guestabi.Hypercall, arg uint64) (*Halt, error) {
	return e.d.Dispatch(e.mem, uint64(nr), arg)
}

// Struct builders; OUT fields start at marks no handler writes.

func encBlock(handle, off, data, n uint64) []byte {
	b := make([]byte, guestabi.BlockIOSize)
	(&guestabi.BlockIO{Handle: handle, Offset: off, Data: data, Len: n, Ret: retMark}).Encode(b)
	return b
}

func encNet(handle, data, n uint64) []byte {
	b := make([]byte, guestabi.NetIOSize)
	(&guestabi.NetIO{Handle: handle, Data: data, Len: n, Ret: retMark}).Encode(b)
	return b
}

func encPoll(timeout uint64) []byte {
	b := make([]byte, guestabi.PollSize)
	(&guestabi.Poll{TimeoutNsecs: timeout, ReadySet: 0xdead, Ret: retMark}).Encode(b)
	return b
}

func encPuts(data, n uint64) []byte {
	b := make([]byte, guestabi.PutsSize)
	(&guestabi.Puts{Data: data, Len: n}).Encode(b)
	return b
}

func encHalt(cookie uint64, status int32) []byte {
	b := make([]byte, guestabi.HaltSize)
	(&guestabi.Halt{Cookie: cookie, ExitStatus: status}).Encode(b)
	return b
}

func (e *env) blockAt(tb testing.TB, gpa uint64) guestabi.BlockIO {
	var io guestabi.BlockIO
	io.Decode(e.bytesAt(tb, gpa, guestabi.BlockIOSize))
	return io
}

func (e *env) netAt(tb testing.TB, gpa uint64) guestabi.NetIO {
	var io guestabi.NetIO
	io.Decode(e.bytesAt(tb, gpa, guestabi.NetIOSize))
	return io
}

func (e *env) pollAt(tb testing.TB, gpa uint64) guestabi.Poll {
	var p guestabi.Poll
	p.Decode(e.bytesAt(tb, gpa, guestabi.PollSize))
	return p
}

// wantFatalAccess checks err is the fatal bad-pointer error of call.
func wantFatalAccess(tb testing.TB, err error, call guestabi.Hypercall) {
	tb.Helper()
	var he *Error
	switch {
	case err == nil:
		tb.Fatalf("%v: got no error, want a fatal invalid guest access", call)
	case !errors.As(err, &he) || he.Call != call:
		tb.Fatalf("%v: got %T %v, want *Error for %v", call, err, err, call)
	case !errors.Is(err, guestmem.ErrOutOfBounds) || !errors.Is(err, ErrGuest):
		tb.Fatalf("%v: %v does not match guestmem.ErrOutOfBounds and ErrGuest", call, err)
	case !strings.HasPrefix(err.Error(), "hypercall "+call.String()+": invalid guest access: gpa=0x"):
		tb.Fatalf("%v: message %q does not name the call and the bad range", call, err)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents)
}

// registeredCore returns a Core writing its console to w, registered with
// a new Dispatcher, and closed when the test ends.
func registeredCore(t *testing.T, w io.Writer) (*Core, *Dispatcher) {
	t.Helper()
	core, err := NewCore(w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	d := NewDispatcher()
	if err := core.Register(d); err != nil {
		t.Fatal(err)
	}
	return core, d
}
