//go:build linux && amd64

package bindings

import (
	"testing"
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// TestDebugFrameLayout: the monitor's debugger reads and writes the trap
// frame as a guestabi.DebugFrame.
func TestDebugFrameLayout(t *testing.T) {
	f := frame{FSBase: 1, CR2: 2, R15: 3, R14: 4, R13: 5, R12: 6, R11: 7, R10: 8, R9: 9, R8: 10,
		RBP: 11, RDI: 12, RSI: 13, RDX: 14, RCX: 15, RBX: 16, RAX: 17,
		Vector: 18, Err: 19, RIP: 20, CS: 21, RFLAGS: 22, RSP: 23, SS: 24}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&f)), unsafe.Sizeof(f))
	var d guestabi.DebugFrame
	d.Decode(b)
	want := guestabi.DebugFrame{FSBase: 1, CR2: 2, R15: 3, R14: 4, R13: 5, R12: 6, R11: 7, R10: 8, R9: 9, R8: 10,
		RBP: 11, RDI: 12, RSI: 13, RDX: 14, RCX: 15, RBX: 16, RAX: 17,
		Vector: 18, Err: 19, RIP: 20, CS: 21, RFLAGS: 22, RSP: 23, SS: 24}
	if d != want {
		t.Fatalf("frame decodes as %+v, want %+v", d, want)
	}
	if frameAddr+unsafe.Offsetof(f.RIP) != 0x8FFD8 {
		t.Fatalf("RIP at %#x, vec1 reads FRAME_RIP 0x8FFD8", frameAddr+unsafe.Offsetof(f.RIP))
	}
}
