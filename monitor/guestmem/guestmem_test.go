package guestmem

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestBytesBounds(t *testing.T) {
	m, err := New(Granule)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	size := m.Size()
	tests := []struct {
		gpa, n uint64
		ok     bool
	}{
		{0, 0, true},
		{0, 16, true},
		{size - 1, 0, true},
		{size - 2, 1, true},
		{size - 1, 1, false}, // upstream's strict end: the last byte is out
		{size - 16, 16, false},
		{size, 0, false},
		{size, 1, false},
		{0, size, false},
		{1, ^uint64(0), false}, // gpa + n overflows
		{^uint64(0), 2, false},
		{0x1000, 0x1000, true},
	}
	for _, tt := range tests {
		b, err := m.Bytes(tt.gpa, tt.n)
		if tt.ok != (err == nil) {
			t.Errorf("Bytes(%#x, %#x): err = %v, want ok=%v", tt.gpa, tt.n, err, tt.ok)
			continue
		}
		if err != nil {
			var ae *AccessError
			if !errors.Is(err, ErrOutOfBounds) || !errors.As(err, &ae) || ae.GPA != tt.gpa || ae.Len != tt.n {
				t.Errorf("Bytes(%#x, %#x): error %v does not describe the access", tt.gpa, tt.n, err)
			}
			continue
		}
		if uint64(len(b)) != tt.n || uint64(cap(b)) != tt.n {
			t.Errorf("Bytes(%#x, %#x): len %d cap %d", tt.gpa, tt.n, len(b), cap(b))
		}
	}
}

func TestSizeFromMiB(t *testing.T) {
	tests := []struct {
		mib      uint64
		size     uint64
		adjusted bool
		err      bool
	}{
		{512, 512 * MiB, false, false},
		{2, 2 * MiB, false, false},
		{3, 2 * MiB, true, false},
		{4096, 4096 * MiB, false, false},
		{4097, 0, false, true},
		{1, 0, false, true},
		{0, 0, false, true},
	}
	for _, tt := range tests {
		size, adj, err := SizeFromMiB(tt.mib)
		if size != tt.size || adj != tt.adjusted || (err != nil) != tt.err {
			t.Errorf("SizeFromMiB(%d) = %d, %v, %v", tt.mib, size, adj, err)
		}
		if err != nil && !errors.Is(err, ErrSize) {
			t.Errorf("SizeFromMiB(%d): %v is not ErrSize", tt.mib, err)
		}
	}
	for _, bad := range []uint64{0, 3 * MiB, MaxSize + Granule} {
		if _, err := New(bad); !errors.Is(err, ErrSize) {
			t.Errorf("New(%#x): %v", bad, err)
		}
	}
}

func TestZeroAndProtect(t *testing.T) {
	m, err := New(Granule)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	all, _ := m.Bytes(0, m.Size()-1)
	for i := range all {
		all[i] = 0xaa
	}
	if err := m.Zero(0x1800, 0x3000); err != nil {
		t.Fatal(err)
	}
	for i, v := range all {
		want := byte(0xaa)
		if i >= 0x1800 && i < 0x4800 {
			want = 0
		}
		if v != want {
			t.Fatalf("byte %#x = %#x after Zero, want %#x", i, v, want)
		}
	}
	if err := m.Protect(0x10000, 0x2000, false); err != nil {
		t.Fatal(err)
	}
	maps, _ := os.ReadFile("/proc/self/maps")
	if !strings.Contains(string(maps), "r--s") {
		t.Errorf("no read-only shared mapping after Protect:\n%s", maps)
	}
	if err := m.Protect(0x10001, 0x1000, false); err == nil {
		t.Errorf("Protect accepted an unaligned range")
	}
	if err := m.Close(); err != nil || m.Close() != nil {
		t.Errorf("Close twice: %v", err)
	}
}
