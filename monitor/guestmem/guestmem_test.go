package guestmem

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestBytesBounds(t *testing.T) {
	m := newTestMemory(t)
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
	m := newTestMemory(t)
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
	// Zeroed zeroes the same way and hands back those very bytes.
	for i := range all {
		all[i] = 0xaa
	}
	z, err := m.Zeroed(0x1800, 0x3000)
	if err != nil {
		t.Fatal(err)
	}
	if len(z) != 0x3000 || &z[0] != &all[0x1800] || all[0x17ff] != 0xaa || all[0x4800] != 0xaa {
		t.Fatalf("Zeroed: %d bytes at %p, want 0x3000 at %p with its neighbours kept", len(z), &z[0], &all[0x1800])
	}
	for i, v := range z {
		if v != 0 {
			t.Fatalf("byte %#x = %#x after Zeroed, want 0", 0x1800+i, v)
		}
	}
	if err := m.Protect(0x10000, 0x2000, false); err != nil {
		t.Fatal(err)
	}
	if perms := mapping(t, m, 0x10000, ""); perms != "r--p" {
		t.Errorf("guest page 0x10000 after Protect: %q, want read-only private memory (r--p)", perms)
	}
	if err := m.Protect(0x10001, 0x1000, false); err == nil {
		t.Errorf("Protect accepted an unaligned range")
	}
	if err := m.Close(); err != nil || m.Close() != nil {
		t.Errorf("Close twice: %v", err)
	}
}

// Populate backs exactly its range with memory, changes no byte, and
// follows Writable's rules.
func TestPopulate(t *testing.T) {
	m := newTestMemory(t)
	b, err := m.Writable(0x10000, 0x4000)
	if err != nil {
		t.Fatal(err)
	}
	b[0x1000] = 7 // one page already written
	if err := m.Populate(0x10000, 0x4000); err != nil {
		t.Fatal(err)
	}
	around, _ := m.Bytes(0xf000, 0x6000)
	resident, err := Resident(around)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resident {
		if want := i >= 1 && i <= 4; r != want {
			t.Errorf("page %#x resident: %v, want %v", 0xf000+i*0x1000, r, want)
		}
	}
	for i, v := range b {
		if i == 0x1000 && v != 7 || i != 0x1000 && v != 0 {
			t.Fatalf("byte %#x = %#x after Populate", 0x10000+i, v)
		}
	}
	if err := m.Populate(m.Size()-0x1000, 0x1000); !errors.Is(err, ErrOutOfBounds) {
		t.Errorf("Populate of the top page: %v, want ErrOutOfBounds", err)
	}
	if err := m.Protect(0x20000, 0x1000, false); err != nil {
		t.Fatal(err)
	}
	if err := m.Populate(0x1f000, 0x2000); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Populate over a read-only page: %v, want ErrReadOnly", err)
	}
}

// mapping returns the permissions of the host mapping that holds guest
// page gpa (as /proc/self/maps shows them), and checks that its smaps
// entry's VmFlags has flag, if flag is not "".
func mapping(t *testing.T, m *Memory, gpa uint64, flag string) string {
	t.Helper()
	addr := uint64(uintptr(unsafe.Pointer(&m.Host()[gpa])))
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var perms string
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			lo, hi, _ := strings.Cut(f[0], "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			perms = ""
			if err1 == nil && err2 == nil && l <= addr && addr < h {
				perms = f[1]
			}
			continue
		}
		if perms != "" && len(f) > 0 && f[0] == "VmFlags:" {
			if flag != "" && !slices.Contains(f[1:], flag) {
				t.Errorf("mapping of gpa %#x: VmFlags %v, want %q", gpa, f[1:], flag)
			}
			return perms
		}
	}
	t.Fatalf("no mapping holds gpa %#x (host %#x)", gpa, addr)
	return ""
}

// NewHugePages aligns guest memory to huge pages and asks for them
// (VmFlags "hg"); New does not. Both map private memory (rw-p), and Zero
// gives back zeroed pages in both.
func TestHugePages(t *testing.T) {
	for _, tt := range []struct {
		name string
		new  func(uint64) (*Memory, error)
		flag string
	}{{"New", New, ""}, {"NewHugePages", NewHugePages, "hg"}} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.new(2 * Granule)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if perms := mapping(t, m, 0, tt.flag); perms != "rw-p" {
				t.Errorf("guest memory mapped %q, want rw-p", perms)
			}
			if addr := uintptr(unsafe.Pointer(&m.Host()[0])); tt.flag != "" && addr%Granule != 0 {
				t.Errorf("guest memory at %#x, not aligned to %d MiB", addr, Granule/MiB)
			}
			b, err := m.Writable(0x100000, 0x1000)
			if err != nil {
				t.Fatal(err)
			}
			b[0] = 1
			if err := m.Zero(0x100000, 0x1000); err != nil || b[0] != 0 {
				t.Errorf("after Zero: byte %d, err %v", b[0], err)
			}
		})
	}
}

// newTestMemory is one granule of guest memory, closed when t ends.
func newTestMemory(t *testing.T) *Memory {
	t.Helper()
	m, err := New(Granule)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
