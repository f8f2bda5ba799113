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
	ram, err := sys.Mmap(-1, 0, size, sys.PROT_READ|sys.PROT_WRITE, sys.MAP_PRIVATE|sys.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Munmap(ram)
	saved := [...]uintptr{frameNext, frameEnd, zeroEnd, freeList}
	savedUse := framesInUse
	defer func() {
		frameNext, frameEnd, zeroEnd, freeList = saved[0], saved[1], saved[2], saved[3]
		framesInUse = savedUse
	}()
	for i := range ram {
		ram[i] = 0xaa
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(ram)))
	frameNext, frameEnd, freeList = base, base+size, 0
	zeroEnd = max(frameNext, frameEnd-bootStackReserve)

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
