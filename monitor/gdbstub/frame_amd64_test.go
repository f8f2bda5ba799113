package gdbstub

import (
	"errors"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// TestUseFrameHostile: the debug trap's frame address is the guest's.
// One outside memory, at 0, or in read-only text is an error (a SIGSEGV
// stop for gdb), never a host fault, and no frame stays in use; a frame
// in writable memory is read and written back.
func TestUseFrameHostile(t *testing.T) {
	mem, err := guestmem.New(guestmem.Granule)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if err := mem.Protect(0x1000, 0x1000, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		gpa  uint64
		want error // nil: usable
	}{
		{"at zero", 0, nil},
		{"read-only text", 0x1000, guestmem.ErrReadOnly},
		{"across into read-only", 0x1000 - 8, guestmem.ErrReadOnly},
		{"outside memory", mem.Size() - 8, guestmem.ErrOutOfBounds},
		{"wraps around", ^uint64(0) - 8, guestmem.ErrOutOfBounds},
		{"writable", 0x4000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKVM(nil, mem)
			_, err := k.UseFrame(tt.gpa)
			switch {
			case tt.gpa == 0:
				if err == nil {
					t.Fatal("frame at 0 accepted")
				}
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Fatalf("UseFrame(%#x) = %v, want %v", tt.gpa, err, tt.want)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if err := k.SetPC(0x1234); err != nil {
					t.Fatal(err)
				}
				b, _ := mem.Bytes(tt.gpa, guestabi.DebugFrameSize)
				var fr guestabi.DebugFrame
				fr.Decode(b)
				if fr.RIP != 0x1234 {
					t.Fatalf("frame RIP %#x after SetPC, want 0x1234", fr.RIP)
				}
				return
			}
			if k.frame != 0 {
				t.Errorf("frame %#x left in use after an error", k.frame)
			}
		})
	}
}
