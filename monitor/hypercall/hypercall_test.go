package hypercall

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

func nopHandler(*guestmem.Memory, uint64) (*Halt, error) { return nil, nil }

func TestRegister(t *testing.T) {
	d := NewDispatcher()
	for _, nr := range []guestabi.Hypercall{0, guestabi.NumHypercalls, 1 << 20} {
		if err := d.Register(nr, nopHandler); !errors.Is(err, ErrRegister) {
			t.Errorf("Register(%d): got %v, want ErrRegister", nr, err)
		}
	}
	if err := d.Register(guestabi.HypercallPuts, nil); !errors.Is(err, ErrRegister) {
		t.Errorf("Register(nil handler): got %v, want ErrRegister", err)
	}
	if err := d.Register(guestabi.HypercallPuts, nopHandler); err != nil {
		t.Fatal(err)
	}
	if err := d.Register(guestabi.HypercallPuts, nopHandler); !errors.Is(err, ErrRegister) {
		t.Errorf("second Register(PUTS): got %v, want ErrRegister", err)
	}
	// A module whose hypercall is taken registers nothing at all.
	core, err := NewCore(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	if err := core.Register(d); !errors.Is(err, ErrRegister) {
		t.Fatalf("core.Register over PUTS: got %v, want ErrRegister", err)
	}
	if _, err := d.Dispatch(nil, uint64(guestabi.HypercallWalltime), 0); !errors.Is(err, ErrInvalidHypercall) {
		t.Errorf("WALLTIME registered by a failed module: %v", err)
	}
}

func TestDispatchInvalid(t *testing.T) {
	e := newEnv(t)
	onlyCore := NewDispatcher()
	if err := e.core.Register(onlyCore); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		d  *Dispatcher
		nr uint64
	}{
		{e.d, 0},
		{e.d, 9},
		{e.d, 0x100},
		{e.d, 1 << 32},
		{e.d, math.MaxUint64},
		{onlyCore, uint64(guestabi.HypercallBlockWrite)},
		{onlyCore, uint64(guestabi.HypercallBlockRead)},
		{onlyCore, uint64(guestabi.HypercallNetWrite)},
		{onlyCore, uint64(guestabi.HypercallNetRead)},
	}
	for _, tt := range tests {
		h, err := tt.d.Dispatch(e.mem, tt.nr, argGPA)
		if h != nil || !errors.Is(err, ErrInvalidHypercall) || !errors.Is(err, ErrGuest) {
			t.Errorf("Dispatch(%d): got %v, %v; want ErrInvalidHypercall matching ErrGuest", tt.nr, h, err)
			continue
		}
		if want := fmt.Sprintf("invalid guest hypercall: num=%d", tt.nr); err.Error() != want {
			t.Errorf("Dispatch(%d): message %q, want %q", tt.nr, err, want)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	hostErr := &Error{Call: guestabi.HypercallPuts, Err: io.ErrClosedPipe}
	if errors.Is(hostErr, ErrGuest) {
		t.Error("a console failure matches ErrGuest")
	}
	if !errors.Is(hostErr, io.ErrClosedPipe) {
		t.Error("*Error does not unwrap to its cause")
	}
	if got, want := hostErr.Error(), "hypercall PUTS: io: read/write on closed pipe"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if errors.Is(&Error{Call: guestabi.HypercallPoll, Err: ErrInterrupted}, ErrGuest) {
		t.Error("an interrupted POLL matches ErrGuest")
	}
}

func TestWalltime(t *testing.T) {
	e := newEnv(t)
	e.put(t, argGPA, bytes.Repeat([]byte{0xff}, 8))
	before := uint64(time.Now().UnixNano())
	if h, err := e.call(guestabi.HypercallWalltime, argGPA); h != nil || err != nil {
		t.Fatal(h, err)
	}
	after := uint64(time.Now().UnixNano())
	var w guestabi.Walltime
	w.Decode(e.bytesAt(t, argGPA, 8))
	if w.Nsecs < before || w.Nsecs > after {
		t.Errorf("WALLTIME = %d, want within [%d, %d] (CLOCK_REALTIME)", w.Nsecs, before, after)
	}
}

func TestPuts(t *testing.T) {
	e := newEnv(t)
	msg := []byte("Solo5: hello\n")
	e.put(t, bufGPA, msg)
	e.put(t, argGPA, encPuts(bufGPA, uint64(len(msg))))
	if h, err := e.call(guestabi.HypercallPuts, argGPA); h != nil || err != nil {
		t.Fatal(h, err)
	}
	// Zero bytes: nothing printed, no error, also at the last valid gpa.
	e.put(t, argGPA, encPuts(memSize-1, 0))
	if _, err := e.call(guestabi.HypercallPuts, argGPA); err != nil {
		t.Fatal(err)
	}
	if got := e.console.String(); got != string(msg) {
		t.Errorf("console got %q, want %q", got, msg)
	}
}

// errWriter fails or writes short, as a broken console might.
type errWriter struct {
	n   int
	err error
}

func (w errWriter) Write(p []byte) (int, error) { return min(w.n, len(p)), w.err }

func TestPutsConsoleFailure(t *testing.T) {
	mem, err := guestmem.New(memSize)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	b, _ := mem.Bytes(argGPA, guestabi.PutsSize)
	(&guestabi.Puts{Data: bufGPA, Len: 10}).Encode(b)
	tests := []struct {
		name string
		w    errWriter
		want error
	}{
		{"error", errWriter{0, io.ErrClosedPipe}, io.ErrClosedPipe},
		{"short without error", errWriter{4, nil}, io.ErrShortWrite},
		{"short with error", errWriter{4, io.ErrClosedPipe}, io.ErrClosedPipe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := registeredCore(t, tt.w)
			_, err = d.Dispatch(mem, uint64(guestabi.HypercallPuts), argGPA)
			var he *Error
			if !errors.As(err, &he) || he.Call != guestabi.HypercallPuts || !errors.Is(err, tt.want) || errors.Is(err, ErrGuest) {
				t.Fatalf("got %v, want a PUTS *Error wrapping %v, not ErrGuest", err, tt.want)
			}
			if !strings.Contains(err.Error(), "10 bytes") {
				t.Errorf("message %q does not say how much was written", err)
			}
		})
	}
}

func TestNewCoreNilConsole(t *testing.T) {
	if c, err := NewCore(nil); err == nil {
		c.Close()
		t.Fatal("NewCore(nil) succeeded")
	}
}

func TestHalt(t *testing.T) {
	e := newEnv(t)
	cookie := make([]byte, guestabi.HaltCookieMax)
	for i := range cookie {
		cookie[i] = byte(i * 7)
	}
	e.put(t, bufGPA, cookie)
	tests := []struct {
		name       string
		cookie     uint64
		status     int32
		wantCookie []byte
	}{
		{"no cookie", 0, 0, nil},
		{"failure", 0, 1, nil},
		{"abort with cookie", bufGPA, 255, cookie},
		{"negative status", 0, -1, nil},
		{"cookie ending just below the top", memSize - guestabi.HaltCookieMax - 1, 2, make([]byte, guestabi.HaltCookieMax)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.put(t, argGPA, encHalt(tt.cookie, tt.status))
			h, err := e.call(guestabi.HypercallHalt, argGPA)
			if err != nil {
				t.Fatal(err)
			}
			if h == nil || h.Status != int(tt.status) || !bytes.Equal(h.Cookie, tt.wantCookie) || (tt.wantCookie == nil) != (h.Cookie == nil) {
				t.Fatalf("got %+v, want status %d cookie %v", h, tt.status, tt.wantCookie)
			}
		})
	}
	// The cookie is a copy: the guest's memory may change or go away.
	e.put(t, argGPA, encHalt(bufGPA, 255))
	h, err := e.call(guestabi.HypercallHalt, argGPA)
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, bufGPA, make([]byte, guestabi.HaltCookieMax))
	if !bytes.Equal(h.Cookie, cookie) {
		t.Error("Halt.Cookie aliases guest memory")
	}
}

// structSize is each hypercall's argument struct size.
var structSize = map[guestabi.Hypercall]uint64{
	guestabi.HypercallWalltime:   guestabi.WalltimeSize,
	guestabi.HypercallPuts:       guestabi.PutsSize,
	guestabi.HypercallPoll:       guestabi.PollSize,
	guestabi.HypercallBlockWrite: guestabi.BlockIOSize,
	guestabi.HypercallBlockRead:  guestabi.BlockIOSize,
	guestabi.HypercallNetWrite:   guestabi.NetIOSize,
	guestabi.HypercallNetRead:    guestabi.NetIOSize,
	guestabi.HypercallHalt:       guestabi.HaltSize,
}

// TestBadArgStruct: every hypercall checks its own struct first, with
// upstream's strict bound, and a bad one is fatal.
func TestBadArgStruct(t *testing.T) {
	e := newEnv(t)
	for nr := guestabi.Hypercall(1); nr < guestabi.NumHypercalls; nr++ {
		size := structSize[nr]
		for _, tc := range []struct {
			name string
			arg  uint64
		}{
			{"past the end", memSize - size + 8},
			{"at the end", memSize},
			{"far past the end", 1 << 40},
			{"ending exactly at the top", memSize - size},
			{"gpa+size overflows", math.MaxUint64 - size + 2},
			{"top bit", 1 << 63},
		} {
			t.Run(nr.String()+"/"+tc.name, func(t *testing.T) {
				_, err := e.call(nr, tc.arg)
				wantFatalAccess(t, err, nr)
				if !strings.Contains(err.Error(), fmt.Sprintf("gpa=%#x, len=%#x", tc.arg, size)) {
					t.Errorf("message %q does not name gpa %#x and len %#x", err, tc.arg, size)
				}
			})
		}
		t.Run(nr.String()+"/ending one byte below the top", func(t *testing.T) {
			arg := memSize - size - 1
			// Zeroed structs are harmless for every call: a zero POLL
			// timeout returns at once, handle 0 is EINVAL, a zero PUTS
			// prints nothing, a zero cookie is none.
			e.put(t, arg, make([]byte, size))
			if _, err := e.call(nr, arg); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBadBuffer: each buffer an argument struct points to is checked with
// the strict bound, fatally, and the struct is left untouched.
func TestBadBuffer(t *testing.T) {
	e := newEnv(t)
	type bufCase struct {
		name      string
		data, len uint64
	}
	cases := func(n uint64) []bufCase {
		return []bufCase{
			{"past the end", memSize - n/2, n},
			{"at the end", memSize, n},
			{"ending exactly at the top", memSize - n, n},
			{"data+len overflows", math.MaxUint64 - n/2, n},
			{"top bit", 1 << 63, n},
		}
	}
	for _, tc := range append(cases(20), bufCase{"huge len overflows", bufGPA, math.MaxUint64 - bufGPA + 1}, bufCase{"len past the end", bufGPA, memSize}) {
		t.Run("PUTS/"+tc.name, func(t *testing.T) {
			e.put(t, argGPA, encPuts(tc.data, tc.len))
			_, err := e.call(guestabi.HypercallPuts, argGPA)
			wantFatalAccess(t, err, guestabi.HypercallPuts)
		})
	}
	for _, nr := range []guestabi.Hypercall{guestabi.HypercallBlockWrite, guestabi.HypercallBlockRead} {
		for _, tc := range cases(blkBS) {
			t.Run(nr.String()+"/"+tc.name, func(t *testing.T) {
				e.put(t, argGPA, encBlock(hBlock, 0, tc.data, tc.len))
				_, err := e.call(nr, argGPA)
				wantFatalAccess(t, err, nr)
				if got := e.blockAt(t, argGPA); got.Ret != retMark {
					t.Errorf("ret written (%d) on a fatal error", got.Ret)
				}
			})
		}
	}
	for _, nr := range []guestabi.Hypercall{guestabi.HypercallNetWrite, guestabi.HypercallNetRead} {
		for _, tc := range append(cases(60), bufCase{"huge len overflows", bufGPA, math.MaxUint64}) {
			t.Run(nr.String()+"/"+tc.name, func(t *testing.T) {
				e.net.rx = [][]byte{make([]byte, 60)}
				e.put(t, argGPA, encNet(hNet, tc.data, tc.len))
				_, err := e.call(nr, argGPA)
				wantFatalAccess(t, err, nr)
				if got := e.netAt(t, argGPA); got.Ret != retMark || got.Len != tc.len {
					t.Errorf("struct written (%+v) on a fatal error", got)
				}
			})
		}
	}
	for _, tc := range cases(guestabi.HaltCookieMax) {
		t.Run("HALT cookie/"+tc.name, func(t *testing.T) {
			e.put(t, argGPA, encHalt(tc.data, 255))
			h, err := e.call(guestabi.HypercallHalt, argGPA)
			if h != nil {
				t.Errorf("got a Halt %+v with a bad cookie", h)
			}
			wantFatalAccess(t, err, guestabi.HypercallHalt)
		})
	}
	if len(e.net.tx) != 0 || e.blk.calls != 0 || e.console.Len() != 0 {
		t.Errorf("a device or the console was used with a bad buffer")
	}
}

// TestBufferJustBelowTop: the largest valid buffer end is accepted.
func TestBufferJustBelowTop(t *testing.T) {
	e := newEnv(t)
	e.put(t, argGPA, encPuts(memSize-6, 5))
	e.put(t, memSize-6, []byte("hello"))
	if _, err := e.call(guestabi.HypercallPuts, argGPA); err != nil || e.console.String() != "hello" {
		t.Fatalf("PUTS ending one byte below the top: %v, console %q", err, e.console)
	}
	e.put(t, argGPA, encBlock(hBlock, 0, memSize-blkBS-1, blkBS))
	if _, err := e.call(guestabi.HypercallBlockRead, argGPA); err != nil || e.blockAt(t, argGPA).Ret != guestabi.ResultOK {
		t.Fatalf("BLOCK_READ ending one byte below the top: %v, %+v", err, e.blockAt(t, argGPA))
	}
}
