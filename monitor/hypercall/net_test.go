package hypercall

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
)

func frame(n int) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = byte(i)
	}
	return f
}

func TestNetWrite(t *testing.T) {
	for _, n := range []int{guestabi.EthernetHeaderSize, 60, netMTU + guestabi.EthernetHeaderSize} {
		e := newEnv(t)
		e.put(t, bufGPA, frame(n))
		e.put(t, argGPA, encNet(hNet, bufGPA, uint64(n)))
		if h, err := e.call(guestabi.HypercallNetWrite, argGPA); h != nil || err != nil {
			t.Fatal(h, err)
		}
		if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultOK || got.Len != uint64(n) {
			t.Errorf("%d bytes: struct %+v, want ret OK, len unchanged", n, got)
		}
		if len(e.net.tx) != 1 || !bytes.Equal(e.net.tx[0], frame(n)) {
			t.Errorf("%d bytes: device got %d frames", n, len(e.net.tx))
		}
	}
}

func TestNetRead(t *testing.T) {
	e := newEnv(t)
	e.net.rx = [][]byte{frame(60), frame(100)}
	e.put(t, argGPA, encNet(hNet, bufGPA, 2048))
	if h, err := e.call(guestabi.HypercallNetRead, argGPA); h != nil || err != nil {
		t.Fatal(h, err)
	}
	if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultOK || got.Len != 60 {
		t.Fatalf("struct %+v, want ret OK len 60", got)
	}
	if !bytes.Equal(e.bytesAt(t, bufGPA, 60), frame(60)) {
		t.Fatal("frame not in the guest buffer")
	}
	// A frame longer than the buffer is truncated by the device.
	e.put(t, argGPA, encNet(hNet, bufGPA, 50))
	if _, err := e.call(guestabi.HypercallNetRead, argGPA); err != nil {
		t.Fatal(err)
	}
	if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultOK || got.Len != 50 {
		t.Fatalf("struct %+v, want ret OK len 50", got)
	}
	// Nothing waiting: AGAIN with len untouched (upstream), and also for a
	// device that reports 0 bytes (upstream's read() == 0).
	for _, zero := range []bool{false, true} {
		e.net.zeroRead = zero
		e.put(t, argGPA, encNet(hNet, bufGPA, lenMark))
		if _, err := e.call(guestabi.HypercallNetRead, argGPA); err != nil {
			t.Fatal(err)
		}
		if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultAgain || got.Len != lenMark {
			t.Fatalf("zero=%v: struct %+v, want ret AGAIN len %#x", zero, got, lenMark)
		}
	}
}

func TestNetEINVAL(t *testing.T) {
	tests := []struct {
		name              string
		nr                guestabi.Hypercall
		handle, data, len uint64
	}{
		{"handle 0", 0, 0, bufGPA, 60},
		{"handle 63", 0, 63, bufGPA, 60},
		{"handle 64", 0, 64, bufGPA, 60},
		{"handle 1<<32+2 (aliases 2 if truncated)", 0, 1<<32 + hNet, bufGPA, 60},
		{"handle 1<<63", 0, 1 << 63, bufGPA, 60},
		{"handle max", 0, math.MaxUint64, bufGPA, 60},
		{"block handle", 0, hBlock, bufGPA, 60},
		{"bad handle with a bad buffer", 0, 63, math.MaxUint64, math.MaxUint64},
		// Hardening beyond upstream's tender: frame sizes a tap refuses.
		{"frame longer than MTU+14", guestabi.HypercallNetWrite, hNet, bufGPA, netMTU + guestabi.EthernetHeaderSize + 1},
		{"frame shorter than a header", guestabi.HypercallNetWrite, hNet, bufGPA, guestabi.EthernetHeaderSize - 1},
		{"empty frame", guestabi.HypercallNetWrite, hNet, bufGPA, 0},
	}
	for _, nr := range []guestabi.Hypercall{guestabi.HypercallNetWrite, guestabi.HypercallNetRead} {
		for _, tt := range tests {
			if tt.nr != 0 && tt.nr != nr {
				continue
			}
			t.Run(nr.String()+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				e.net.rx = [][]byte{frame(60)}
				e.put(t, argGPA, encNet(tt.handle, tt.data, tt.len))
				h, err := e.call(nr, argGPA)
				if h != nil || err != nil {
					t.Fatalf("got %v, %v; want no fatal error", h, err)
				}
				want := guestabi.NetIO{Handle: tt.handle, Data: tt.data, Len: tt.len, Ret: guestabi.ResultEINVAL}
				if got := e.netAt(t, argGPA); got != want {
					t.Errorf("struct %+v, want %+v", got, want)
				}
				if len(e.net.tx) != 0 || len(e.net.rx) != 1 {
					t.Error("the device was used")
				}
			})
		}
	}
}

func TestNetIOFailure(t *testing.T) {
	errLink := errors.New("link down")
	tests := []struct {
		name string
		nr   guestabi.Hypercall
		set  func(*fakeNet)
		want error
		msg  string
	}{
		{"write error", guestabi.HypercallNetWrite, func(n *fakeNet) { n.writeErr = errLink }, errLink,
			"hypercall NET_WRITE: writing a 60-byte frame to device 2: link down"},
		{"write would block", guestabi.HypercallNetWrite, func(n *fakeNet) { n.writeErr = devices.ErrWouldBlock }, devices.ErrWouldBlock,
			"hypercall NET_WRITE: writing a 60-byte frame to device 2: no frame available"},
		{"read error", guestabi.HypercallNetRead, func(n *fakeNet) { n.readErr = errLink }, errLink,
			"hypercall NET_READ: reading a frame of up to 60 bytes from device 2: link down"},
		{"peer gone", guestabi.HypercallNetRead, func(n *fakeNet) { n.readErr = io.EOF }, io.EOF,
			"hypercall NET_READ: reading a frame of up to 60 bytes from device 2: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.set(e.net)
			e.put(t, argGPA, encNet(hNet, bufGPA, 60))
			_, err := e.call(tt.nr, argGPA)
			var he *Error
			if !errors.As(err, &he) || he.Call != tt.nr || !errors.Is(err, tt.want) || errors.Is(err, ErrGuest) {
				t.Fatalf("got %v; want a host *Error wrapping %v", err, tt.want)
			}
			if err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err, tt.msg)
			}
			if got := e.netAt(t, argGPA); got.Ret != retMark || got.Len != 60 {
				t.Errorf("struct written (%+v) on a fatal error", got)
			}
		})
	}
}

// badLenNet returns a length it has no right to.
type badLenNet struct {
	*fakeNet
	n int
}

func (b badLenNet) ReadFrame(p []byte) (int, error) { return b.n, nil }

func TestNetReadBadDeviceLength(t *testing.T) {
	for _, n := range []int{-1, 61, math.MaxInt} {
		e := newEnv(t)
		core, err := NewCore(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer core.Close()
		d := NewDispatcher()
		if err := NewNet(map[int]devices.Net{hNet: badLenNet{newFakeNet(t, netMTU), n}}, core).Register(d); err != nil {
			t.Fatal(err)
		}
		e.put(t, argGPA, encNet(hNet, bufGPA, 60))
		if _, err := d.Dispatch(e.mem, uint64(guestabi.HypercallNetRead), argGPA); err == nil || errors.Is(err, ErrGuest) {
			t.Errorf("device length %d: got %v, want a host error", n, err)
		}
		if got := e.netAt(t, argGPA); got.Len != 60 {
			t.Errorf("device length %d reached the guest: %+v", n, got)
		}
	}
}

func TestNetRegister(t *testing.T) {
	core, err := NewCore(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	good := newFakeNet(t, netMTU)
	tests := []struct {
		name string
		devs map[int]devices.Net
		core *Core
	}{
		{"no core", map[int]devices.Net{2: good}, nil},
		{"handle 0", map[int]devices.Net{0: good}, core},
		{"handle 64", map[int]devices.Net{64: good}, core},
		{"nil device", map[int]devices.Net{2: nil}, core},
		{"MTU 0", map[int]devices.Net{2: newFakeNet(t, 0)}, core},
		{"MTU 65536", map[int]devices.Net{2: newFakeNet(t, 65536)}, core},
		{"bad ready fd", map[int]devices.Net{2: &fakeNet{mtu: netMTU, efd: -1}}, core},
		{"one fd twice", map[int]devices.Net{2: good, 3: good}, core},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDispatcher()
			if err := NewNet(tt.devs, tt.core).Register(d); err == nil {
				t.Fatal("Register succeeded")
			}
			if _, err := d.Dispatch(nil, uint64(guestabi.HypercallNetRead), 0); !errors.Is(err, ErrInvalidHypercall) {
				t.Error("a failed Register left a handler")
			}
		})
	}
	// Nothing of the failed registrations stayed in the wait set ("one fd
	// twice" got as far as adding one of its handles): both are free.
	if err := core.AddPollable(2, good.efd); err != nil {
		t.Errorf("handle 2 left in the wait set by a failed Register: %v", err)
	}
	if err := core.AddPollable(3, newFakeNet(t, netMTU).efd); err != nil {
		t.Errorf("handle 3 left in the wait set by a failed Register: %v", err)
	}
}

// TestNetPipeDevice runs the handlers and POLL over the devices package's
// in-process pipe, to catch a disagreement in the contract.
func TestNetPipeDevice(t *testing.T) {
	a, b, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	e := newEnv(t)
	core, d := registeredCore(t, io.Discard)
	if err := NewNet(map[int]devices.Net{hNet: a}, core).Register(d); err != nil {
		t.Fatal(err)
	}
	call := func(nr guestabi.Hypercall) {
		t.Helper()
		if _, err := d.Dispatch(e.mem, uint64(nr), argGPA); err != nil {
			t.Fatal(err)
		}
	}

	// Guest → peer.
	e.put(t, bufGPA, frame(64))
	e.put(t, argGPA, encNet(hNet, bufGPA, 64))
	call(guestabi.HypercallNetWrite)
	if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultOK {
		t.Fatalf("NET_WRITE: %+v", got)
	}
	buf := make([]byte, 2048)
	if n, err := b.ReadFrame(buf); err != nil || !bytes.Equal(buf[:n], frame(64)) {
		t.Fatalf("peer read %d, %v", n, err)
	}

	// Nothing queued: POLL times out with no device, NET_READ says AGAIN.
	e.put(t, argGPA, encPoll(0))
	call(guestabi.HypercallPoll)
	if got := e.pollAt(t, argGPA); got.Ret != 0 || got.ReadySet != 0 {
		t.Fatalf("idle POLL: %+v", got)
	}
	e.put(t, argGPA, encNet(hNet, bufGPA, lenMark))
	call(guestabi.HypercallNetRead)
	if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultAgain || got.Len != lenMark {
		t.Fatalf("idle NET_READ: %+v", got)
	}

	// Peer → guest: POLL (with a long timeout, ended by readiness) reports
	// the device, and NET_READ gets the frame.
	if err := b.WriteFrame(frame(80)); err != nil {
		t.Fatal(err)
	}
	e.put(t, argGPA, encPoll(3600e9))
	call(guestabi.HypercallPoll)
	if got := e.pollAt(t, argGPA); got.Ret != 1 || got.ReadySet != 1<<hNet {
		t.Fatalf("ready POLL: %+v", got)
	}
	e.put(t, argGPA, encNet(hNet, bufGPA, 2048))
	call(guestabi.HypercallNetRead)
	if got := e.netAt(t, argGPA); got.Ret != guestabi.ResultOK || got.Len != 80 || !bytes.Equal(e.bytesAt(t, bufGPA, 80), frame(80)) {
		t.Fatalf("NET_READ: %+v", got)
	}
}
