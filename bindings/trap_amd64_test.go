//go:build linux && amd64

package bindings

import (
	"testing"
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// TestDebugFrameLayout: the frame kentry builds, which the monitor's
// debugger reads as a guestabi.DebugFrame, has the size and byte layout
// DebugFrame's Decode and Encode use (its addresses are in
// layout_amd64.h, checked by TestLayoutHeader).
func TestDebugFrameLayout(t *testing.T) {
	var f frame
	if unsafe.Sizeof(f) != guestabi.DebugFrameSize {
		t.Fatalf("frame is %d bytes, guestabi.DebugFrameSize %d", unsafe.Sizeof(f), guestabi.DebugFrameSize)
	}
	b := make([]byte, guestabi.DebugFrameSize)
	f.RIP, f.SS = 0x1234, 0x2b
	f.Encode(b)
	if *(*frame)(unsafe.Pointer(&b[0])) != f {
		t.Fatal("Encode does not write the in-memory layout")
	}
}

// TestTrapCookieLayout: the fatal trap's HALT cookie is what
// guestabi.DecodeFrameCookie reads.
func TestTrapCookieLayout(t *testing.T) {
	if int(unsafe.Sizeof(trapCookie)) != guestabi.FrameCookieSize {
		t.Fatalf("cookie is %d bytes, want %d", unsafe.Sizeof(trapCookie), guestabi.FrameCookieSize)
	}
	f := frame{RIP: 0x1234, RSP: 0x5678, RBX: 9}
	trapCookie.regs = [7]uint64{f.CR2, f.Err, f.RIP, f.CS, f.RFLAGS, f.RSP, f.SS}
	copy(trapCookie.magic[:], guestabi.FrameCookieMagic)
	trapCookie.frame = f
	b := unsafe.Slice((*byte)(unsafe.Pointer(&trapCookie)), unsafe.Sizeof(trapCookie))
	if got, ok := guestabi.DecodeFrameCookie(b); !ok || got != f {
		t.Fatalf("DecodeFrameCookie = %+v, %v; want %+v", got, ok, f)
	}
}
