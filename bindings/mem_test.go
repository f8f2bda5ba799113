//go:build linux && amd64

package bindings

import (
	"bytes"
	sys "syscall"
	"testing"
	"unsafe"
)

// allocFrame hands out never-used frames below zeroEnd as they are (the
// tender gave them zeroed), and zeroes the others: the top of RAM, where
// the boot stack was, and every freed frame. The test's "RAM" starts out
// all 0xaa, so a frame left as it was shows.
func TestAllocFrameZeroes(t *testing.T) {
	const size = 256 << 10
	ram, base := fakeRAM(t, size)

	page := func(pa uintptr) []byte { return ram[pa-base : pa-base+pageSize] }
	dirty := bytes.Repeat([]byte{0xaa}, pageSize)
	zero := make([]byte, pageSize)
	var first uintptr
	for i := 0; ; i++ {
		pa := allocFrame()
		if pa == 0 {
			if i != size/pageSize {
				t.Fatalf("RAM exhausted after %d frames, want %d", i, size/pageSize)
			}
			break
		}
		want := dirty // never used: not written
		if pa >= base+size-bootStackReserve {
			want = zero
		}
		if !bytes.Equal(page(pa), want) {
			t.Fatalf("frame %#x (top reserve from %#x): got %x..., want %x...", pa-base, size-bootStackReserve, page(pa)[:4], want[:4])
		}
		if i == 0 {
			first = pa
		}
	}
	// A freed frame comes back zeroed, whatever it held.
	copy(page(first), dirty)
	freeFrame(first)
	if pa := allocFrame(); pa != first || !bytes.Equal(page(pa), zero) {
		t.Fatalf("freed frame: got %#x with %x..., want %#x zeroed", pa-base, page(pa)[:4], first-base)
	}
}

// fakeRAM makes size bytes of host memory, all 0xaa, the frames that
// allocFrame hands out until the test ends.
func fakeRAM(t *testing.T, size int) ([]byte, uintptr) {
	ram, err := sys.Mmap(-1, 0, size, sys.PROT_READ|sys.PROT_WRITE, sys.MAP_PRIVATE|sys.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	saved := [...]uintptr{frameNext, frameEnd, zeroEnd, freeList}
	savedUse := framesInUse
	t.Cleanup(func() {
		frameNext, frameEnd, zeroEnd, freeList = saved[0], saved[1], saved[2], saved[3]
		framesInUse = savedUse
		sys.Munmap(ram)
	})
	for i := range ram {
		ram[i] = 0xaa
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(ram)))
	frameNext, frameEnd, freeList = base, base+uintptr(size), 0
	zeroEnd = max(frameNext, frameEnd-bootStackReserve)
	return ram, base
}

// allocTable writes the first word of a never-used frame (so that the
// host backs it with a writable page before walk reads it) and nothing
// else; frames allocFrame zeroes come back zeroed; exhausted RAM is 0.
func TestAllocTable(t *testing.T) {
	const size = bootStackReserve + 2*pageSize // two never-used frames below the reserve
	dirty := bytes.Repeat([]byte{0xaa}, pageSize)
	firstWord := append(make([]byte, 8), dirty[8:]...)
	zero := make([]byte, pageSize)
	tests := []struct {
		name string
		prep func(base uintptr) // state before the allocTable under test
		want []byte             // the frame's contents; nil: allocTable returns 0
	}{
		{"never used", func(uintptr) {}, firstWord},
		{"freed", func(uintptr) {
			pa := allocFrame()
			freeFrame(pa)
		}, zero},
		{"boot stack reserve", func(base uintptr) { frameNext = base + 2*pageSize }, zero},
		{"exhausted", func(base uintptr) { frameNext = base + size }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ram, base := fakeRAM(t, size)
			tt.prep(base)
			pa := allocTable()
			if tt.want == nil {
				if pa != 0 {
					t.Fatalf("got frame %#x, want 0", pa-base)
				}
				return
			}
			if pa == 0 {
				t.Fatal("got 0, want a frame")
			}
			if got := ram[pa-base : pa-base+pageSize]; !bytes.Equal(got, tt.want) {
				t.Fatalf("frame %#x: got %x...%x, want %x...%x", pa-base, got[:12], got[pageSize-4:], tt.want[:12], tt.want[pageSize-4:])
			}
		})
	}
}
