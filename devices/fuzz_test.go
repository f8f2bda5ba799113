package devices

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzBlockPath drives a Block with arbitrary offsets and lengths, as a
// buggy or hostile caller would: accesses inside the device round-trip,
// every other one fails with ErrOutOfRange before the backend sees it,
// and nothing panics.
func FuzzBlockPath(f *testing.F) {
	f.Add(uint8(0), int64(0), uint16(512), true, byte(1))
	f.Add(uint8(3), int64(4096-512), uint16(512), false, byte(2))
	f.Add(uint8(1), int64(-1), uint16(512), true, byte(3))
	f.Add(uint8(0), int64(1<<62), uint16(0), true, byte(4))
	f.Fuzz(func(t *testing.T, shift uint8, off int64, n uint16, write bool, fill byte) {
		sector := uint16(512) << (shift % 4)
		capacity := uint64(sector) * 8
		// memDisk (block_test.go) panics on an access outside its slice:
		// one that got past the Block's own check.
		disk := &memDisk{data: make([]byte, capacity)}
		b, err := NewBlock(disk, disk, capacity, sector)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		p := bytes.Repeat([]byte{fill}, int(n))
		inside := off >= 0 && uint64(off) <= capacity && uint64(n) <= capacity-uint64(off)
		var got int
		if write {
			got, err = b.WriteAt(p, off)
		} else {
			got, err = b.ReadAt(p, off)
		}
		if !inside {
			if !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("%d bytes at %d of %d: err %v, want ErrOutOfRange", n, off, capacity, err)
			}
			return
		}
		if err != nil || got != int(n) {
			t.Fatalf("%d bytes at %d of %d: %d, %v", n, off, capacity, got, err)
		}
		if write && !bytes.Equal(disk.data[off:off+int64(n)], p) {
			t.Fatalf("write at %d did not land", off)
		}
	})
}

// FuzzFramePath sends arbitrary frames through an in-process pipe: a
// frame of a size the MTU allows arrives intact (or is counted as
// dropped when the queue is full), any other is refused with
// ErrFrameSize, reads into short buffers truncate, and nothing panics.
func FuzzFramePath(f *testing.F) {
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x88\xb5hello"), uint16(0), uint16(2048))
	f.Add([]byte{}, uint16(68), uint16(10))
	f.Add(make([]byte, 1514), uint16(1500), uint16(1514))
	f.Fuzz(func(t *testing.T, frame []byte, mtu, readLen uint16) {
		m := int(mtu)
		if m != 0 {
			m = MinPipeMTU + m%(MaxPipeMTU-MinPipeMTU+1)
		}
		a, b, err := NewPipe(PipeOptions{MTU: m})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		defer b.Close()
		err = a.WriteFrame(frame)
		if len(frame) < 14 || len(frame) > a.MTU()+14 {
			if !errors.Is(err, ErrFrameSize) {
				t.Fatalf("%d-byte frame with MTU %d: err %v, want ErrFrameSize", len(frame), a.MTU(), err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, readLen)
		n, err := b.ReadFrame(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := frame[:min(len(frame), int(readLen))]
		if n != len(want) || !bytes.Equal(buf[:n], want) {
			t.Fatalf("read %d bytes %x, want %x", n, buf[:n], want)
		}
	})
}
