package x86_64

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/unimon/unimon/monitor/guestmem"
)

func newMem(t *testing.T, size uint64) *guestmem.Memory {
	t.Helper()
	mem, err := guestmem.New(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	return mem
}

func TestTranslateBootTables(t *testing.T) {
	mem := newMem(t, 8<<20)
	if err := SetupMemory(mem); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		va, pa   uint64
		writable bool
		err      bool
	}{
		{va: 0x100000, pa: 0x100000, writable: true},
		{va: 0x10008, pa: 0x10008},                   // boot info: read-only
		{va: 0x345678, pa: 0x345678, writable: true}, // a 2 MiB page
		{va: 0x5000, err: true},                      // below 0x10000: not present
		{va: 8 << 20, err: true},                     // past memory: no directory entry
		{va: 1 << 47, err: true},                     // not canonical
		{va: 0xffff_8000_0000_0000, err: true},       // canonical, unmapped
	}
	for _, tt := range tests {
		pa, w, err := Translate(mem, PML4Base, tt.va)
		if tt.err {
			if !errors.Is(err, ErrNotMapped) {
				t.Errorf("Translate(%#x) = %#x, %v; want ErrNotMapped", tt.va, pa, err)
			}
			continue
		}
		if err != nil || pa != tt.pa || w != tt.writable {
			t.Errorf("Translate(%#x) = %#x, %v, %v; want %#x, %v", tt.va, pa, w, err, tt.pa, tt.writable)
		}
	}
	maps, truncated := Mappings(mem, PML4Base)
	want := []Mapping{{VA: 0x10000, PA: 0x10000, Size: 0xf0000}, {VA: 0x100000, PA: 0x100000, Size: 8<<20 - 0x100000, Writable: true}}
	if truncated || len(maps) != len(want) || maps[0] != want[0] || maps[1] != want[1] {
		t.Errorf("Mappings = %+v, %v; want %+v", maps, truncated, want)
	}
}

// TestHostileTables: page tables are guest data. Garbage, tables that
// point at themselves, tables and pages outside memory and a CR3 past the
// end give errors or are left out, never a panic or an endless walk.
func TestHostileTables(t *testing.T) {
	const size = 4 << 20
	le := binary.LittleEndian
	fill := func(mem *guestmem.Memory, table uint64, f func(i uint64) uint64) {
		b, err := mem.Writable(table, 4096)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(0); i < 512; i++ {
			le.PutUint64(b[8*i:], f(i))
		}
	}
	tests := []struct {
		name  string
		cr3   uint64
		setup func(mem *guestmem.Memory)
	}{
		{"all ones", 0x1000, func(m *guestmem.Memory) { fill(m, 0x1000, func(uint64) uint64 { return ^uint64(0) }) }},
		{"self-referencing", 0x1000, func(m *guestmem.Memory) { fill(m, 0x1000, func(uint64) uint64 { return 0x1000 | 7 }) }},
		{"tables past memory", 0x1000, func(m *guestmem.Memory) {
			fill(m, 0x1000, func(i uint64) uint64 { return (size + i<<12) | 7 })
		}},
		{"large pages past memory", 0x1000, func(m *guestmem.Memory) {
			fill(m, 0x1000, func(uint64) uint64 { return 0x2000 | 7 })
			fill(m, 0x2000, func(i uint64) uint64 { return i<<30 | 0x87 })
		}},
		{"cr3 past memory", 1 << 40, func(*guestmem.Memory) {}},
		{"cr3 at the last page", size - 4096, func(*guestmem.Memory) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := newMem(t, size)
			tt.setup(mem)
			for _, va := range []uint64{0, 0x1000, 0x7fff_ffff_f000, 0xffff_8000_0000_0000, 1 << 47} {
				if pa, _, err := Translate(mem, tt.cr3, va); err == nil && pa >= size {
					t.Errorf("Translate(%#x) = %#x: outside memory", va, pa)
				}
			}
			maps, _ := Mappings(mem, tt.cr3)
			for _, m := range maps {
				if m.PA >= size || m.PA+m.Size > size {
					t.Errorf("mapping %+v outside memory", m)
				}
			}
		})
	}
}
