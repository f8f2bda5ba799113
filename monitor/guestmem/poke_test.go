package guestmem

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestPokeReadOnly: Poke writes into pages Protect made read-only (where
// a plain write would kill the process) and leaves them read-only.
func TestPokeReadOnly(t *testing.T) {
	m := newTestMemory(t)
	if err := m.Protect(0x1000, 0x3000, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Protect(0x2000, 0x1000, true); err != nil { // a hole in the middle
		t.Fatal(err)
	}
	if got := m.readOnly; len(got) != 2 || got[0] != (span{0x1000, 0x2000}) || got[1] != (span{0x3000, 0x4000}) {
		t.Fatalf("read-only spans %+v", got)
	}
	if err := m.Poke(0x1ffe, []byte{1, 2, 3, 4}); err != nil { // across the RO/RW edge
		t.Fatal(err)
	}
	b, _ := m.Bytes(0x1ffe, 4)
	if string(b) != "\x01\x02\x03\x04" {
		t.Fatalf("after Poke: %x", b)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	// The page at 0x1000 is read-only again: its mapping says r--p (r--s
	// if guest memory is ever a shared mapping again).
	start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&m.mem[0x1000])))
	found := false
	for _, line := range strings.Split(string(maps), "\n") {
		if strings.HasPrefix(line, start) {
			found = strings.Contains(line, " r--p ") || strings.Contains(line, " r--s ")
			break
		}
	}
	if !found {
		t.Errorf("guest page 0x1000 (%s...) is not mapped read-only after Poke:\n%s", start, maps)
	}
	if _, err := m.Writable(0x1ffe, 4); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Writable after Poke = %v, want ErrReadOnly (Poke is the debugger's only)", err)
	}
	if err := m.Poke(0x2000, []byte{5}); err != nil { // the writable hole needs no mprotect
		t.Fatal(err)
	}
	if err := m.Poke(m.Size()-1, []byte{1}); !errors.Is(err, ErrOutOfBounds) {
		t.Errorf("Poke at the last byte = %v, want ErrOutOfBounds (Bytes' bounds)", err)
	}
}

func TestPeekBounds(t *testing.T) {
	m := newTestMemory(t)
	size := m.Size()
	tests := []struct {
		gpa uint64
		n   int
		ok  bool
	}{
		{0, 16, true},
		{size - 8, 8, true}, // unlike Bytes: up to the very top
		{size - 8, 9, false},
		{size, 0, false},
		{^uint64(0) - 2, 8, false}, // overflow
	}
	for _, tt := range tests {
		err := m.Peek(tt.gpa, make([]byte, tt.n))
		if (err == nil) != tt.ok {
			t.Errorf("Peek(%#x, %d) = %v, want ok=%v", tt.gpa, tt.n, err, tt.ok)
		}
	}
}
