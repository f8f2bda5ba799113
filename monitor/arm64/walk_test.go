package arm64

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/unimon/unimon/monitor/guestmem"
)

// guestTables is guest memory of size bytes with descriptors written at
// the given guest-physical addresses.
func guestTables(t testing.TB, size uint64, descs map[uint64]uint64) *guestmem.Memory {
	t.Helper()
	mem, err := guestmem.New(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	for gpa, d := range descs {
		b, err := mem.Writable(gpa, 8)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(b, d)
	}
	return mem
}

// fillTable sets all 512 entries of the table at gpa to f(i).
func fillTable(descs map[uint64]uint64, gpa uint64, f func(i uint64) uint64) map[uint64]uint64 {
	for i := uint64(0); i < 512; i++ {
		descs[gpa+8*i] = f(i)
	}
	return descs
}

// tcr is TCR_EL1 with the 4 KiB granule and the given T0SZ.
func tcr(t0sz uint64) uint64 { return TCR&^tcrT0SZ | t0sz }

// TestMappingsBootTables: the monitor's own identity tables, as an
// upstream Solo5 C guest runs with them, read back as the boot info area
// read-only and the rest of RAM writable; the MMIO window's device block
// lies outside guest memory and is left out.
func TestMappingsBootTables(t *testing.T) {
	for _, size := range []uint64{2 << 20, 8 << 20, 1<<30 + 2<<20} {
		mem, _ := tables(t, size)
		maps, truncated, err := Mappings(mem, TTBR0, TCR)
		want := []guestmem.Mapping{
			{VA: 0x10000, PA: 0x10000, Size: 0xf0000},
			{VA: 0x100000, PA: 0x100000, Size: size - 0x100000, Writable: true},
		}
		if err != nil || truncated || !slices.Equal(maps, want) {
			t.Errorf("%d MiB: Mappings = %+v, %v, %v; want %+v", size>>20, maps, truncated, err, want)
		}
	}
}

// The layouts a guest may build, each with the mappings it must give.
func TestMappings(t *testing.T) {
	const (
		l0, l1, l2, l3 = 0x20000, 0x21000, 0x22000, 0x30000
		table          = descTable
		page           = pageNormalExec
		pageRO         = page | attrRDONLY
		block          = blockNormal
	)
	tests := []struct {
		name  string
		ttbr0 uint64
		tcr   uint64
		descs map[uint64]uint64
		want  []guestmem.Mapping
	}{{
		// The Go bindings' tables (bindings/cpu_arm64.s, mmu_arm64.go):
		// 48-bit addresses from level 0, an identity map of RAM with
		// the text in pages, and the program's heap in 4 KiB pages at
		// 256 GiB, far above guest-physical memory.
		name: "go guest", ttbr0: l0, tcr: tcr(16),
		descs: map[uint64]uint64{
			l0:            l1 | table,
			l1:            l2 | table,
			l2:            l3 | table,
			l2 + 8:        0x200000 | block,
			l2 + 8*3:      0x600000 | block,
			l3 + 8*0x100:  0x100000 | pageRO, // text
			l3 + 8*0x101:  0x101000 | pageRO,
			l3 + 8*0x102:  0x102000 | page,
			l3 + 8*0x1ff:  0x1ff000 | page,
			l1 + 8*4:      MMIOBase | blockDevice, // outside memory
			l1 + 8*300:    3<<30 | block,          // a 1 GiB block past memory
			l1 + 8*256:    0x40000 | table,        // VA 256 GiB
			0x40000:       0x42000 | table,
			0x40000 + 8:   1<<40 | table,    // a table past memory
			0x40000 + 8*2: 0x800000 | block, // VA 256 GiB + 4 MiB
			0x42000:       0x300000 | page,
			0x42000 + 8:   0x301000 | page,
			0x42000 + 8*2: 0x7000 | pageRO,
			0x42000 + 8*3: 0x3000 | descValid, // level 3, 01: reserved
			0x42000 + 8*4: 1<<40 | page,       // past memory
			0x42000 + 8*5: 0x7fff000 | page,   // the last page of memory
			0x42000 + 8*6: 0x8000000 | page,   // the first page after it
			l1 + 8*257:    0x43000 | table | apTableNoW,
			0x43000:       0x3000 | table, // APTable holds down to level 3
			0x3000:        0x400000 | page,
			l0 + 8:        0x400000 | block, // a level 0 block: reserved
			l0 + 8*511:    0x50000 | table,  // the top 512 GiB: empty
			0x50000 + 8*5: 0,
		},
		want: []guestmem.Mapping{
			{VA: 0x100000, PA: 0x100000, Size: 0x2000},
			{VA: 0x102000, PA: 0x102000, Size: 0x1000, Writable: true},
			{VA: 0x1ff000, PA: 0x1ff000, Size: 0x201000, Writable: true}, // a page and the block after it
			{VA: 0x600000, PA: 0x600000, Size: 0x200000, Writable: true},
			{VA: 256 << 30, PA: 0x300000, Size: 0x2000, Writable: true},
			{VA: 256<<30 + 0x2000, PA: 0x7000, Size: 0x1000},
			{VA: 256<<30 + 0x5000, PA: 0x7fff000, Size: 0x1000, Writable: true},
			{VA: 256<<30 + 4<<20, PA: 0x800000, Size: 2 << 20, Writable: true},
			{VA: 257 << 30, PA: 0x400000, Size: 0x1000},
		},
	}, {
		name: "39-bit: level 1 start", ttbr0: 0x5000, tcr: tcr(25),
		descs: map[uint64]uint64{
			0x5000 + 8*511: 0x6000 | table,
			0x6000 + 8*1:   0x200000 | block,
		},
		want: []guestmem.Mapping{{VA: 511<<30 + 2<<20, PA: 0x200000, Size: 2 << 20, Writable: true}},
	}, {
		name: "30-bit: level 2 start", ttbr0: 0x5000, tcr: tcr(34),
		descs: map[uint64]uint64{
			0x5000 + 8*1: 0x200000 | block,
			0x5000 + 8*2: 0x6000 | table,
			0x6000:       0x1000 | page,
		},
		want: []guestmem.Mapping{
			{VA: 2 << 20, PA: 0x200000, Size: 2 << 20, Writable: true},
			{VA: 4 << 20, PA: 0x1000, Size: 0x1000, Writable: true},
		},
	}, {
		// 40 bits from level 0 have two entries; the start table need
		// only be 64-byte aligned, and ASID and CnP are not address.
		name: "40-bit: two level 0 entries", ttbr0: 0x1234_0000_0000_5040 | 1, tcr: tcr(24),
		descs: map[uint64]uint64{
			0x5040:     0x6000 | table,
			0x5048:     0x7000 | table,
			0x5050:     0x8000 | table, // index 2: beyond 40 bits, never read
			0x7000 + 8: 1<<30 | block,
			0x8000:     1<<30 | block,
		},
		want: []guestmem.Mapping{{VA: 1<<39 + 1<<30, PA: 1 << 30, Size: 1 << 30, Writable: true}},
	}}
	// A 1 GiB block needs a whole GiB of memory: the two cases that map
	// one use that much, which costs only the pages the test writes.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := uint64(128 << 20)
			if tt.want[len(tt.want)-1].Size == 1<<30 {
				size = 2 << 30
			}
			mem := guestTables(t, size, tt.descs)
			maps, truncated, err := Mappings(mem, tt.ttbr0, tt.tcr)
			if err != nil || truncated || !slices.Equal(maps, tt.want) {
				t.Errorf("Mappings = %+v, %v, %v\nwant %+v", maps, truncated, err, tt.want)
			}
		})
	}
}

// TestMappingsHostile: translation tables are guest data. Garbage,
// tables that point at themselves, tables of tables that would take
// billions of reads, a TTBR0 past memory and translation regimes the walk
// does not read give an error or a bounded, in-memory result, never a
// panic or an endless walk.
func TestMappingsHostile(t *testing.T) {
	const size = 8 << 20
	tests := []struct {
		name      string
		ttbr0     uint64
		tcr       uint64
		descs     map[uint64]uint64
		err       error
		truncated bool
	}{
		{name: "all ones", ttbr0: 0x1000, tcr: TCR,
			descs: fillTable(map[uint64]uint64{}, 0x1000, func(uint64) uint64 { return ^uint64(0) })},
		{name: "self-referencing", ttbr0: 0x1000, tcr: tcr(16), truncated: true,
			descs: fillTable(map[uint64]uint64{}, 0x1000, func(uint64) uint64 { return 0x1000 | descTable })},
		{name: "tables of empty tables", ttbr0: 0x1000, tcr: tcr(16), truncated: true,
			descs: fillTable(fillTable(fillTable(map[uint64]uint64{}, 0x1000,
				func(uint64) uint64 { return 0x2000 | descTable }), 0x2000,
				func(uint64) uint64 { return 0x3000 | descTable }), 0x3000,
				func(uint64) uint64 { return 0x4000 | descTable })},
		{name: "TTBR0 past memory", ttbr0: size, tcr: TCR, err: guestmem.ErrOutOfBounds},
		{name: "TTBR0 far past memory", ttbr0: 0x0000_ffff_ffff_f000, tcr: TCR, err: guestmem.ErrOutOfBounds},
		{name: "64 KiB granule", ttbr0: 0x1000, tcr: TCR | 1<<14, err: ErrTranslation},
		{name: "16 KiB granule", ttbr0: 0x1000, tcr: TCR | 2<<14, err: ErrTranslation},
		{name: "52-bit addresses", ttbr0: 0x1000, tcr: tcr(12), err: ErrTranslation},
		{name: "T0SZ 0", ttbr0: 0x1000, tcr: tcr(0), err: ErrTranslation},
		{name: "T0SZ 63", ttbr0: 0x1000, tcr: tcr(63), err: ErrTranslation},
		{name: "walks off", ttbr0: 0x1000, tcr: TCR | tcrEPD0, err: ErrTranslation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := guestTables(t, size, tt.descs)
			maps, truncated, err := Mappings(mem, tt.ttbr0, tt.tcr)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || maps != nil {
					t.Fatalf("Mappings = %d runs, %v; want %v", len(maps), err, tt.err)
				}
				return
			}
			if err != nil || truncated != tt.truncated || len(maps) > MaxMappings {
				t.Fatalf("Mappings = %d runs, truncated %v, %v; want truncated %v", len(maps), truncated, err, tt.truncated)
			}
			checkInMemory(t, mem, maps)
		})
	}
}

// checkInMemory fails t if a mapping lies outside guest memory.
func checkInMemory(t *testing.T, mem *guestmem.Memory, maps []guestmem.Mapping) {
	t.Helper()
	for _, m := range maps {
		if m.Size == 0 || m.PA >= mem.Size() || mem.Size()-m.PA < m.Size || m.VA+m.Size < m.VA {
			t.Fatalf("mapping %+v outside %#x bytes of memory", m, mem.Size())
		}
	}
}

// FuzzMappings walks tables made of arbitrary bytes under arbitrary
// TTBR0 and TCR values: the walk ends and never yields a mapping
// outside memory.
func FuzzMappings(f *testing.F) {
	f.Add(binary.LittleEndian.AppendUint64(nil, 0x1003), uint64(0), uint64(TCR))
	f.Add(binary.LittleEndian.AppendUint64(nil, 0x3), uint64(0), uint64(16))
	mem, err := guestmem.New(guestmem.Granule)
	if err != nil {
		f.Fatal(err)
	}
	defer mem.Close()
	b, err := mem.Writable(0, 0x4000)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, ttbr0, tcr uint64) {
		clear(b)
		copy(b, data)
		maps, _, err := Mappings(mem, ttbr0, tcr)
		if err == nil {
			checkInMemory(t, mem, maps)
		}
	})
}
