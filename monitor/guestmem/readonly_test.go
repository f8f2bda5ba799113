package guestmem

import (
	"errors"
	"slices"
	"testing"
)

// Writable refuses exactly the ranges that touch a page Protect made
// read-only, naming the first such page; Bytes still reads them.
func TestWritableRefusesReadOnly(t *testing.T) {
	m := newTestMemory(t)
	// Read-only: [0x10000, 0x12000) and [0x20000, 0x21000).
	for _, p := range []struct {
		gpa, n uint64
		w      bool
	}{{0x10000, 0x3000, false}, {0x12000, 0x1000, true}, {0x20000, 0x1000, false}} {
		if err := m.Protect(p.gpa, p.n, p.w); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		gpa, n uint64
		page   uint64 // first read-only page touched; 0: writable
	}{
		{0x0, 0x10000, 0},
		{0xfff8, 8, 0},
		{0xfff8, 9, 0x10000},
		{0x10000, 0, 0}, // touches nothing
		{0x10000, 1, 0x10000},
		{0x11ff8, 8, 0x11000},
		{0x11fff, 1, 0x11000},
		{0x12000, 0x1000, 0},              // made writable again
		{0x11000, 0x10000, 0x11000},       // spans both
		{0x13000, 0xd000, 0},              // between the two
		{0x1f000, 0x1001, 0x20000},        // straddles into the second
		{0x21000, 0x100000, 0},            // after both
		{0x100, Granule - 0x101, 0x10000}, // almost everything
	}
	for _, tt := range tests {
		b, err := m.Writable(tt.gpa, tt.n)
		if tt.page == 0 {
			if err != nil {
				t.Errorf("Writable(%#x, %#x): %v", tt.gpa, tt.n, err)
				continue
			}
			clear(b) // really writable: a read-only page would kill the test
			continue
		}
		var ae *AccessError
		if !errors.Is(err, ErrReadOnly) || errors.Is(err, ErrOutOfBounds) || !errors.As(err, &ae) ||
			ae.GPA != tt.gpa || ae.Len != tt.n || ae.ReadOnlyPage != tt.page {
			t.Errorf("Writable(%#x, %#x): %v, want ErrReadOnly at page %#x", tt.gpa, tt.n, err, tt.page)
		}
		if _, err := m.Bytes(tt.gpa, tt.n); err != nil {
			t.Errorf("Bytes(%#x, %#x) of read-only memory: %v", tt.gpa, tt.n, err)
		}
		if err := m.Zero(tt.gpa, tt.n); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Zero(%#x, %#x): %v, want ErrReadOnly", tt.gpa, tt.n, err)
		}
	}
	// Out of bounds stays out of bounds, read-only or not.
	if _, err := m.Writable(m.Size()-1, 1); !errors.Is(err, ErrOutOfBounds) || errors.Is(err, ErrReadOnly) {
		t.Errorf("Writable past the end: %v", err)
	}
}

// The bookkeeping behind Writable: ranges split, merge and stay sorted
// whatever order Protect is called in.
func TestMarkReadOnly(t *testing.T) {
	type op struct {
		start, end uint64
		ro         bool
	}
	tests := []struct {
		name string
		ops  []op
		want []span
	}{
		{"one", []op{{0x1000, 0x3000, true}}, []span{{0x1000, 0x3000}}},
		{"adjacent merge", []op{{0x3000, 0x4000, true}, {0x1000, 0x3000, true}}, []span{{0x1000, 0x4000}}},
		{"overlap merge", []op{{0x1000, 0x3000, true}, {0x2000, 0x5000, true}}, []span{{0x1000, 0x5000}}},
		{"hole", []op{{0x1000, 0x5000, true}, {0x2000, 0x3000, false}}, []span{{0x1000, 0x2000}, {0x3000, 0x5000}}},
		{"trim both ends", []op{{0x1000, 0x2000, true}, {0x4000, 0x6000, true}, {0x1800, 0x5000, false}},
			[]span{{0x1000, 0x1800}, {0x5000, 0x6000}}},
		{"all gone", []op{{0x1000, 0x2000, true}, {0x3000, 0x4000, true}, {0, 0x10000, false}}, nil},
		{"sorted", []op{{0x9000, 0xa000, true}, {0x1000, 0x2000, true}, {0x5000, 0x6000, true}},
			[]span{{0x1000, 0x2000}, {0x5000, 0x6000}, {0x9000, 0xa000}}},
	}
	for _, tt := range tests {
		var m Memory
		for _, o := range tt.ops {
			m.markReadOnly(span{o.start, o.end}, o.ro)
		}
		if !slices.Equal(m.readOnly, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, m.readOnly, tt.want)
		}
	}
}
