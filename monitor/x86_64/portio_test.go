package x86_64

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/hypercall"
	"github.com/unimon/unimon/monitor/kvm"
)

// TestEveryPort decodes an access to each of the 65,536 ports, in every
// shape an x86 port instruction has, and hands what decodes to a
// dispatcher with every hypercall registered: only a 4-byte OUT to
// 0x501-0x508 reaches a handler (the one for port-0x500, with the OUT's
// value); everything else is one line naming the port, and dispatches
// nothing. tests/hostile runs the same on KVM for a sample of ports (all
// of them with -allports).
func TestEveryPort(t *testing.T) {
	mem, err := guestmem.New(guestmem.Granule)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	var called []uint64 // nr, arg of each handler call
	d := hypercall.NewDispatcher()
	for nr := guestabi.Hypercall(1); nr < guestabi.NumHypercalls; nr++ {
		if err := d.Register(nr, func(_ *guestmem.Memory, arg uint64) (*hypercall.Halt, error) {
			called = append(called, uint64(nr), arg)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	shapes := []struct {
		name  string
		out   bool
		size  uint8
		count uint32
	}{
		{"outl", true, 4, 1}, // the hypercall instruction
		{"inl", false, 4, 1},
		{"outb", true, 1, 1},
		{"outw", true, 2, 1},
		{"inb", false, 1, 1},
		{"rep outsl", true, 4, 2},
		{"rep insb", false, 1, 16},
		{"outl, count 0", true, 4, 0},
	}
	decoded := 0
	for _, s := range shapes {
		for p := range 1 << 16 {
			port := uint16(p)
			value := uint32(p)<<16 | 0xbeef
			data := make([]byte, int(s.size)*int(s.count))
			if len(data) >= 4 {
				binary.LittleEndian.PutUint32(data, value)
			}
			io := kvm.IOExit{Out: s.out, Size: s.size, Port: port, Count: s.count, Data: data}
			nr, arg, err := Hypercall(io)
			hypercallPort := s.name == "outl" && port > guestabi.PIOBase && port < guestabi.PIOBase+guestabi.NumHypercalls
			if !hypercallPort {
				msg := ""
				if err != nil {
					msg = err.Error()
				}
				if err == nil || !strings.Contains(msg, fmt.Sprintf("port=%#x ", port)) || strings.Contains(msg, "\n") {
					t.Fatalf("%s port %#x: nr %d, arg %#x, err %q; want one line naming the port", s.name, port, nr, arg, msg)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s port %#x: %v", s.name, port, err)
			}
			called = called[:0]
			if _, err := d.Dispatch(mem, nr, arg); err != nil {
				t.Fatalf("%s port %#x: dispatching nr %d: %v", s.name, port, nr, err)
			}
			if want := []uint64{uint64(port - guestabi.PIOBase), uint64(value)}; len(called) != 2 || called[0] != want[0] || called[1] != want[1] {
				t.Fatalf("%s port %#x: handler calls (nr, arg) %#x, want %#x", s.name, port, called, want)
			}
			decoded++
		}
	}
	if decoded != guestabi.NumHypercalls-1 {
		t.Errorf("%d ports dispatched, want %d", decoded, guestabi.NumHypercalls-1)
	}
	// The data area is the kernel's to size; a short one is refused too.
	if _, _, err := Hypercall(kvm.IOExit{Out: true, Size: 4, Port: guestabi.PIOBase + 1, Count: 1}); err == nil {
		t.Errorf("a hypercall OUT without its 4 data bytes was decoded")
	}
}
