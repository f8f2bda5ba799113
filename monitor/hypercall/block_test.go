package hypercall

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
)

func TestBlockWriteRead(t *testing.T) {
	e := newEnv(t)
	block := bytes.Repeat([]byte("0123456789abcdef"), blkBS/16)
	for _, off := range []uint64{0, blkBS, blkCap - blkBS} {
		e.put(t, bufGPA, block)
		e.put(t, argGPA, encBlock(hBlock, off, bufGPA, blkBS))
		if h, err := e.call(guestabi.HypercallBlockWrite, argGPA); h != nil || err != nil {
			t.Fatal(h, err)
		}
		if got := e.blockAt(t, argGPA); got.Ret != guestabi.ResultOK || got.Len != blkBS || got.Offset != off {
			t.Fatalf("BLOCK_WRITE at %#x: struct %+v, want ret OK and IN fields unchanged", off, got)
		}
		if !bytes.Equal(e.blk.data[off:off+blkBS], block) {
			t.Fatalf("BLOCK_WRITE at %#x: device does not hold the data", off)
		}

		e.put(t, bufGPA, make([]byte, blkBS))
		e.put(t, argGPA, encBlock(hBlock, off, bufGPA, blkBS))
		if h, err := e.call(guestabi.HypercallBlockRead, argGPA); h != nil || err != nil {
			t.Fatal(h, err)
		}
		if got := e.blockAt(t, argGPA); got.Ret != guestabi.ResultOK || got.Len != blkBS {
			t.Fatalf("BLOCK_READ at %#x: struct %+v, want ret OK, len unchanged", off, got)
		}
		if !bytes.Equal(e.bytesAt(t, bufGPA, blkBS), block) {
			t.Fatalf("BLOCK_READ at %#x: guest buffer does not hold the data", off)
		}
	}
}

// TestBlockReadEOF: io.ReaderAt may report io.EOF with a complete read of
// the last block; that is success.
func TestBlockReadEOF(t *testing.T) {
	e := newEnv(t)
	e.blk.eof = true
	e.put(t, argGPA, encBlock(hBlock, blkCap-blkBS, bufGPA, blkBS))
	if _, err := e.call(guestabi.HypercallBlockRead, argGPA); err != nil || e.blockAt(t, argGPA).Ret != guestabi.ResultOK {
		t.Fatalf("got %v, %+v; want ret OK", err, e.blockAt(t, argGPA))
	}
}

// TestBlockReadOverlappingStruct: a read into a buffer that covers the
// argument struct keeps the data read there, except ret, as upstream.
func TestBlockReadOverlappingStruct(t *testing.T) {
	e := newEnv(t)
	for i := range e.blk.data[:blkBS] {
		e.blk.data[i] = 0xab
	}
	e.put(t, argGPA, encBlock(hBlock, 0, argGPA, blkBS))
	if _, err := e.call(guestabi.HypercallBlockRead, argGPA); err != nil {
		t.Fatal(err)
	}
	got := e.blockAt(t, argGPA)
	if got.Ret != guestabi.ResultOK || got.Handle != 0xabababababababab || got.Len != 0xabababababababab {
		t.Fatalf("struct %+v: want the read data with ret OK", got)
	}
}

func TestBlockEINVAL(t *testing.T) {
	tests := []struct {
		name                     string
		handle, off, data, count uint64
	}{
		{"handle 0 (reserved)", 0, 0, bufGPA, blkBS},
		{"handle 63 (unattached)", 63, 0, bufGPA, blkBS},
		{"handle 64", 64, 0, bufGPA, blkBS},
		{"handle 1<<32+1 (aliases 1 if truncated)", 1<<32 + hBlock, 0, bufGPA, blkBS},
		{"handle 1<<63", 1 << 63, 0, bufGPA, blkBS},
		{"handle max", math.MaxUint64, 0, bufGPA, blkBS},
		{"net handle", hNet, 0, bufGPA, blkBS},
		{"bad handle with a bad buffer", 63, 0, math.MaxUint64, math.MaxUint64},
		{"len > SSIZE_MAX", hBlock, 0, bufGPA, 1 << 63},
		{"len max", hBlock, 0, bufGPA, math.MaxUint64},
		{"offset at capacity", hBlock, blkCap, bufGPA, blkBS},
		{"offset past capacity", hBlock, 1 << 40, bufGPA, blkBS},
		{"offset+len overflows", hBlock, blkBS, bufGPA, math.MaxUint64 - blkBS + 1},
		{"offset+len past capacity", hBlock, blkCap - blkBS/2, bufGPA, blkBS},
		{"two blocks", hBlock, 0, bufGPA, 2 * blkBS},
		{"whole device", hBlock, 0, bufGPA, blkCap},
		// Hardening beyond upstream's tender (its guest bindings check these).
		{"unaligned offset", hBlock, 1, bufGPA, blkBS},
		{"offset half a block", hBlock, blkBS / 2, bufGPA, blkBS},
		{"len half a block", hBlock, 0, bufGPA, blkBS / 2},
		{"len 0", hBlock, 0, bufGPA, 0},
		{"len 0 at capacity", hBlock, blkCap, bufGPA, 0},
		{"ro device: 512 of 4096", hBlockRO, 0, bufGPA, blkBS},
		{"ro device: offset 512", hBlockRO, 512, bufGPA, 4096},
	}
	for _, nr := range []guestabi.Hypercall{guestabi.HypercallBlockWrite, guestabi.HypercallBlockRead} {
		for _, tt := range tests {
			t.Run(nr.String()+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				e.put(t, argGPA, encBlock(tt.handle, tt.off, tt.data, tt.count))
				h, err := e.call(nr, argGPA)
				if h != nil || err != nil {
					t.Fatalf("got %v, %v; want no fatal error", h, err)
				}
				got := e.blockAt(t, argGPA)
				want := guestabi.BlockIO{Handle: tt.handle, Offset: tt.off, Data: tt.data, Len: tt.count, Ret: guestabi.ResultEINVAL}
				if got != want {
					t.Errorf("struct %+v, want %+v", got, want)
				}
				if e.blk.calls+e.blkRO.calls != 0 {
					t.Error("the device was called")
				}
			})
		}
	}
}

func TestBlockReadOnly(t *testing.T) {
	e := newEnv(t)
	e.put(t, argGPA, encBlock(hBlockRO, 4096, bufGPA, 4096))
	if _, err := e.call(guestabi.HypercallBlockWrite, argGPA); err != nil {
		t.Fatal(err)
	}
	if got := e.blockAt(t, argGPA).Ret; got != guestabi.ResultEUNSPEC {
		t.Errorf("write to a read-only device: ret %d, want EUNSPEC", got)
	}
	e.put(t, argGPA, encBlock(hBlockRO, 4096, bufGPA, 4096))
	if _, err := e.call(guestabi.HypercallBlockRead, argGPA); err != nil || e.blockAt(t, argGPA).Ret != guestabi.ResultOK {
		t.Errorf("read from a read-only device: %v, %+v", err, e.blockAt(t, argGPA))
	}
}

func TestBlockIOFailure(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name  string
		nr    guestabi.Hypercall
		setup func(*fakeBlock)
		want  error
		msg   string
	}{
		{"write error", guestabi.HypercallBlockWrite, func(b *fakeBlock) { b.err = errDisk }, errDisk,
			"hypercall BLOCK_WRITE: writing 512 bytes at offset 0x200 of device 1: disk on fire"},
		{"short write", guestabi.HypercallBlockWrite, func(b *fakeBlock) { b.short = true }, io.ErrShortWrite,
			"hypercall BLOCK_WRITE: writing 512 bytes at offset 0x200 of device 1: wrote 511: short write"},
		{"read error", guestabi.HypercallBlockRead, func(b *fakeBlock) { b.err = errDisk }, errDisk,
			"hypercall BLOCK_READ: reading 512 bytes at offset 0x200 of device 1: disk on fire"},
		{"short read", guestabi.HypercallBlockRead, func(b *fakeBlock) { b.short = true }, io.ErrUnexpectedEOF,
			"hypercall BLOCK_READ: reading 512 bytes at offset 0x200 of device 1: read 511: unexpected EOF"},
		{"short read with EOF", guestabi.HypercallBlockRead, func(b *fakeBlock) { b.short, b.err = true, io.EOF }, io.EOF,
			"hypercall BLOCK_READ: reading 512 bytes at offset 0x200 of device 1: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e.blk)
			e.put(t, argGPA, encBlock(hBlock, blkBS, bufGPA, blkBS))
			_, err := e.call(tt.nr, argGPA)
			var he *Error
			if !errors.As(err, &he) || he.Call != tt.nr || !errors.Is(err, tt.want) || errors.Is(err, ErrGuest) {
				t.Fatalf("got %v; want a host *Error wrapping %v", err, tt.want)
			}
			if err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err, tt.msg)
			}
			if got := e.blockAt(t, argGPA).Ret; got != retMark {
				t.Errorf("ret written (%d) on a fatal error", got)
			}
		})
	}
}

func TestBlockRegister(t *testing.T) {
	good := newFakeBlock(blkCap, blkBS)
	tests := []struct {
		name string
		devs map[int]devices.Block
	}{
		{"handle 0", map[int]devices.Block{0: good}},
		{"handle 64", map[int]devices.Block{64: good}},
		{"handle -1", map[int]devices.Block{-1: good}},
		{"nil device", map[int]devices.Block{1: nil}},
		{"block size 0", map[int]devices.Block{1: newFakeBlock(blkCap, 0)}},
		{"block size 256", map[int]devices.Block{1: newFakeBlock(blkCap, 256)}},
		{"block size 768", map[int]devices.Block{1: newFakeBlock(3*768, 768)}},
		{"capacity 0", map[int]devices.Block{1: newFakeBlock(0, blkBS)}},
		{"capacity unaligned", map[int]devices.Block{1: newFakeBlock(blkBS+1, blkBS)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDispatcher()
			if err := NewBlock(tt.devs).Register(d); err == nil {
				t.Fatal("Register succeeded")
			}
			if _, err := d.Dispatch(nil, uint64(guestabi.HypercallBlockWrite), 0); !errors.Is(err, ErrInvalidHypercall) {
				t.Error("a failed Register left a handler")
			}
		})
	}
	// The module copies its map: later changes to the caller's map do not
	// reach the guest.
	devs := map[int]devices.Block{hBlock: good}
	b := NewBlock(devs)
	devs[5] = good
	d := NewDispatcher()
	if err := b.Register(d); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.info[5]; ok {
		t.Error("NewBlock did not copy its map")
	}
	if err := b.Register(d); err == nil || !strings.Contains(err.Error(), "already has a handler") {
		t.Errorf("second Register on one dispatcher: %v", err)
	}
}

// TestBlockRealDevice runs the handlers over the devices package's own
// Block, when it is there, to catch a disagreement in the contract.
func TestBlockRealDevice(t *testing.T) {
	backing := make([]byte, 4*blkBS)
	w := &sliceWriterAt{backing}
	dev, err := devices.NewBlock(bytes.NewReader(backing), w, uint64(len(backing)), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	e := newEnv(t)
	d := NewDispatcher()
	if err := NewBlock(map[int]devices.Block{hBlock: dev}).Register(d); err != nil {
		t.Fatal(err)
	}
	e.put(t, bufGPA, bytes.Repeat([]byte{0x5a}, blkBS))
	e.put(t, argGPA, encBlock(hBlock, 3*blkBS, bufGPA, blkBS))
	if _, err := d.Dispatch(e.mem, uint64(guestabi.HypercallBlockWrite), argGPA); err != nil || e.blockAt(t, argGPA).Ret != guestabi.ResultOK {
		t.Fatalf("write: %v, %+v", err, e.blockAt(t, argGPA))
	}
	if !bytes.Equal(backing[3*blkBS:], bytes.Repeat([]byte{0x5a}, blkBS)) {
		t.Fatal("write did not reach the backing store")
	}
	e.put(t, bufGPA, make([]byte, blkBS))
	e.put(t, argGPA, encBlock(hBlock, 3*blkBS, bufGPA, blkBS))
	if _, err := d.Dispatch(e.mem, uint64(guestabi.HypercallBlockRead), argGPA); err != nil || e.blockAt(t, argGPA).Ret != guestabi.ResultOK {
		t.Fatalf("read: %v, %+v", err, e.blockAt(t, argGPA))
	}
	if !bytes.Equal(e.bytesAt(t, bufGPA, blkBS), bytes.Repeat([]byte{0x5a}, blkBS)) {
		t.Fatal("read did not return the data")
	}

	ro, err := devices.NewBlock(bytes.NewReader(backing), nil, uint64(len(backing)), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	d = NewDispatcher()
	if err := NewBlock(map[int]devices.Block{hBlock: ro}).Register(d); err != nil {
		t.Fatal(err)
	}
	e.put(t, argGPA, encBlock(hBlock, 0, bufGPA, blkBS))
	if _, err := d.Dispatch(e.mem, uint64(guestabi.HypercallBlockWrite), argGPA); err != nil || e.blockAt(t, argGPA).Ret != guestabi.ResultEUNSPEC {
		t.Fatalf("write to read-only: %v, %+v; want EUNSPEC", err, e.blockAt(t, argGPA))
	}
}

// sliceWriterAt is an io.WriterAt over a fixed slice.
type sliceWriterAt struct{ b []byte }

func (w *sliceWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(w.b)) {
		return 0, errors.New("sliceWriterAt: out of range")
	}
	return copy(w.b[off:], p), nil
}
