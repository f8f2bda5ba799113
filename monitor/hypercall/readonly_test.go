package hypercall

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// roGPA is a page the read-only tests protect, as the loader protects a
// unikernel's text.
const roGPA = 0x8000

// wantReadOnly checks err is call's fatal write-to-read-only error naming
// gpa.
func wantReadOnly(tb testing.TB, err error, call guestabi.Hypercall, gpa uint64) {
	tb.Helper()
	var he *Error
	switch {
	case !errors.As(err, &he) || he.Call != call:
		tb.Fatalf("%v: got %T %v, want *Error for %v", call, err, err, call)
	case !errors.Is(err, guestmem.ErrReadOnly) || !errors.Is(err, ErrGuest):
		tb.Fatalf("%v: %v does not match guestmem.ErrReadOnly and ErrGuest", call, err)
	case !strings.HasPrefix(err.Error(), fmt.Sprintf("hypercall %v: write to read-only guest memory: gpa=%#x", call, gpa)):
		tb.Fatalf("%v: message %q does not name the call, the problem and gpa %#x", call, err, gpa)
	}
}

// Every handler that writes guest memory refuses, before any effect, an
// argument struct or buffer in read-only guest memory: a fatal guest
// error, where writing would fault the host. Reading read-only memory
// stays fine (PUTS of text, a HALT cookie in text, a frame or block sent
// from text).
func TestReadOnlyGuestMemory(t *testing.T) {
	frame := make([]byte, 60)
	tests := []struct {
		name string
		call guestabi.Hypercall
		// setup writes the struct at argGPA or roGPA and returns the
		// struct's address and, for a fatal case, the refused gpa.
		setup   func(e *env) (arg, refused uint64)
		effects func(t *testing.T, e *env) // checks no device effect happened
	}{
		{name: "WALLTIME struct", call: guestabi.HypercallWalltime,
			setup: func(e *env) (uint64, uint64) { return roGPA + 8, roGPA + 8 }},
		{name: "POLL struct", call: guestabi.HypercallPoll,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encPoll(0))
				return roGPA, roGPA
			}},
		{name: "BLOCK_READ struct", call: guestabi.HypercallBlockRead,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encBlock(hBlock, 0, bufGPA, blkBS))
				return roGPA, roGPA
			}},
		{name: "BLOCK_READ struct, bad handle", call: guestabi.HypercallBlockRead,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encBlock(99, 0, bufGPA, blkBS))
				return roGPA, roGPA
			}},
		{name: "BLOCK_READ data", call: guestabi.HypercallBlockRead,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, argGPA, encBlock(hBlock, 0, roGPA+blkBS, blkBS))
				return argGPA, roGPA + blkBS
			}},
		{name: "BLOCK_READ data straddling into read-only", call: guestabi.HypercallBlockRead,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, argGPA, encBlock(hBlock, 0, roGPA-8, blkBS))
				return argGPA, roGPA - 8
			}},
		{name: "BLOCK_WRITE struct", call: guestabi.HypercallBlockWrite,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encBlock(hBlock, 0, bufGPA, blkBS))
				return roGPA, roGPA
			}},
		{name: "NET_READ struct", call: guestabi.HypercallNetRead,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encNet(hNet, bufGPA, 2048))
				return roGPA, roGPA
			}},
		{name: "NET_READ buffer", call: guestabi.HypercallNetRead,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, argGPA, encNet(hNet, roGPA, 2048))
				return argGPA, roGPA
			}},
		{name: "NET_WRITE struct", call: guestabi.HypercallNetWrite,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encNet(hNet, bufGPA, uint64(len(frame))))
				return roGPA, roGPA
			}},
		{name: "NET_WRITE struct, bad handle", call: guestabi.HypercallNetWrite,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encNet(77, bufGPA, uint64(len(frame))))
				return roGPA, roGPA
			}},
		// Reads of read-only memory: not errors.
		{name: "PUTS struct and data", call: guestabi.HypercallPuts,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encPuts(roGPA+0x100, 5))
				e.put(t, roGPA+0x100, []byte("hello"))
				return roGPA, 0
			}},
		{name: "HALT struct and cookie", call: guestabi.HypercallHalt,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, encHalt(roGPA+0x100, 7))
				return roGPA, 0
			}},
		{name: "BLOCK_WRITE data", call: guestabi.HypercallBlockWrite,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, argGPA, encBlock(hBlock, 0, roGPA, blkBS))
				return argGPA, 0
			}},
		{name: "NET_WRITE frame", call: guestabi.HypercallNetWrite,
			setup: func(e *env) (uint64, uint64) {
				e.put(t, roGPA, frame)
				e.put(t, argGPA, encNet(hNet, roGPA, uint64(len(frame))))
				return argGPA, 0
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.net.rx = [][]byte{frame}
			e.net.setReady(t, true)
			arg, refused := tt.setup(e)
			if err := e.mem.Protect(roGPA, 0x1000, false); err != nil {
				t.Fatal(err)
			}
			h, err := e.call(tt.call, arg)
			if refused == 0 {
				if err != nil {
					t.Fatalf("reading read-only memory: %v", err)
				}
				if tt.call == guestabi.HypercallHalt && (h == nil || h.Status != 7) {
					t.Fatalf("HALT: %+v", h)
				}
				return
			}
			wantReadOnly(t, err, tt.call, refused)
			// Refused before any effect: no block I/O, no frame sent or
			// consumed, nothing printed.
			if e.blk.calls != 0 || len(e.net.tx) != 0 || len(e.net.rx) != 1 || e.console.Len() != 0 {
				t.Errorf("device effects: %d block calls, %d frames sent, %d left to read, %d bytes printed",
					e.blk.calls, len(e.net.tx), len(e.net.rx), e.console.Len())
			}
		})
	}
}

// A BLOCK_READ into read-only guest memory from a file backend would make
// pread(2) fail with EFAULT; that is the guest's doing, so it must be a
// guest error (ErrGuest), never a device error, and the file is not read.
func TestBlockReadIntoReadOnlyFileBackend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(path, make([]byte, 8*blkBS), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := devices.OpenBlockFile(path, devices.BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := guestmem.New(memSize)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	d := NewDispatcher()
	if err := NewBlock(map[int]devices.Block{1: f}).Register(d); err != nil {
		t.Fatal(err)
	}
	b, _ := mem.Writable(argGPA, guestabi.BlockIOSize)
	copy(b, encBlock(1, 0, roGPA, blkBS))
	if err := mem.Protect(roGPA, 0x1000, false); err != nil {
		t.Fatal(err)
	}
	_, err = d.Dispatch(mem, uint64(guestabi.HypercallBlockRead), argGPA)
	wantReadOnly(t, err, guestabi.HypercallBlockRead, roGPA)
}
