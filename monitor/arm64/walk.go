package arm64

import (
	"errors"
	"fmt"

	"github.com/unimon/unimon/monitor/guestmem"
)

// ErrTranslation is returned (wrapped) by Mappings when TCR_EL1 selects a
// translation regime the walk does not read: a granule other than 4 KiB,
// an address size outside what 4-level 4 KiB tables give, or table walks
// disabled for TTBR0_EL1.
var ErrTranslation = errors.New("stage-1 translation regime not supported")

// Bits of the translation registers and descriptors the walk reads
// (ARM ARM D8.2-D8.3, 4 KiB granule).
const (
	tcrT0SZ   = 0x3f                  // TCR_EL1[5:0]: the lower range spans 2^(64-T0SZ) bytes
	tcrEPD0   = 1 << 7                // no table walks from TTBR0_EL1
	tcrTG0    = 3 << 14               // TTBR0's granule; 0 is 4 KiB
	ttbrBADDR = 0x0000_ffff_ffff_fffe // TTBR0_EL1[47:1]; bit 0 is CnP, [63:48] the ASID

	descValid  = 1 << 0
	descType   = 1 << 1                // with descValid: a table (levels 0-2) or a page (level 3)
	descOA     = 0x0000_ffff_ffff_f000 // output address, bits [47:12]
	apTableNoW = 1 << 62               // APTable[1]: nothing below is writable

	// minT0SZ and maxT0SZ bound T0SZ to 48- down to 25-bit address
	// spaces: smaller values need 52-bit addressing (FEAT_LPA2), larger
	// ones FEAT_TTST, which no hvt guest uses.
	minT0SZ = 16
	maxT0SZ = 39
)

// Walk bounds, as the x86_64 walk has them.
const (
	// MaxWalkEntries bounds how many descriptors Mappings reads: a guest
	// whose tables point back at themselves would otherwise describe
	// petabytes.
	MaxWalkEntries = 1 << 21
	// MaxMappings bounds how many runs Mappings returns (a core file has
	// one segment per run, and ELF counts them in 16 bits).
	MaxMappings = 1 << 15
)

// Mappings lists the valid mappings of the lower virtual address range
// (TTBR0_EL1) under the stage-1 tables at ttbr0 as tcr (TCR_EL1) lays
// them out, in virtual address order, merging neighbours contiguous in
// both spaces (guestmem.AppendMapping). The 4 KiB granule and T0SZ from
// 16 to 39 are read, starting at level 0, 1 or 2 as T0SZ says; a
// mapping is writable unless its AP[2] or an APTable[1] on the way says
// read-only. The tables are guest data: every table is read through
// guestmem's checked accessor, tables and leaves outside guest memory
// (the MMIO window's device block) are left out, reserved descriptor
// encodings are skipped, and the walk reads at most MaxWalkEntries
// descriptors in at most four levels and returns at most MaxMappings
// runs, reporting truncated when it stopped at either bound.
func Mappings(mem *guestmem.Memory, ttbr0, tcr uint64) (maps []guestmem.Mapping, truncated bool, err error) {
	t0sz := tcr & tcrT0SZ
	switch {
	case tcr&tcrTG0 != 0:
		return nil, false, fmt.Errorf("%w: TCR_EL1 %#x: TG0 %d is not the 4 KiB granule", ErrTranslation, tcr, tcr&tcrTG0>>14)
	case t0sz < minT0SZ || t0sz > maxT0SZ:
		return nil, false, fmt.Errorf("%w: TCR_EL1 %#x: T0SZ %d is outside %d-%d", ErrTranslation, tcr, t0sz, minT0SZ, maxT0SZ)
	case tcr&tcrEPD0 != 0:
		return nil, false, fmt.Errorf("%w: TCR_EL1 %#x: EPD0 disables walks from TTBR0_EL1", ErrTranslation, tcr)
	}
	vaBits := 64 - uint(t0sz)
	// The start level is the one whose entries span the top address bit:
	// level l maps 2^shift(l) bytes per entry.
	level := 0
	for vaBits <= levelShift(level) {
		level++
	}
	entries := uint64(1) << (vaBits - levelShift(level))
	// The start table is aligned to its size, 64 bytes at least; BADDR's
	// bits below that are RES0 and ignored.
	base := ttbr0 & ttbrBADDR &^ (max(8*entries, 64) - 1)
	if _, err := mem.Bytes(base, 8*entries); err != nil {
		return nil, false, fmt.Errorf("TTBR0_EL1 %#x: level %d table: %w", ttbr0, level, err)
	}

	budget := MaxWalkEntries
	var walk func(table uint64, n uint64, level int, va uint64, writable bool)
	walk = func(table uint64, n uint64, level int, va uint64, writable bool) {
		b, err := mem.Bytes(table, 8*n)
		if err != nil {
			return // a table outside memory maps nothing
		}
		shift := levelShift(level)
		size := uint64(1) << shift
		for i := uint64(0); i < n; i++ {
			if budget == 0 || len(maps) >= MaxMappings {
				truncated = true
				return
			}
			budget--
			d := le.Uint64(b[8*i:])
			if d&descValid == 0 {
				continue
			}
			at := va | i<<shift
			table := d&descType != 0
			switch {
			case level < 3 && table:
				walk(d&descOA, 512, level+1, at, writable && d&apTableNoW == 0)
				continue
			case level == 0, level == 3 && !table:
				continue // reserved encodings: the MMU would fault
			}
			// A block (levels 1-2) or a page (level 3).
			pa := d & descOA &^ (size - 1)
			if pa >= mem.Size() || mem.Size()-pa < size {
				continue
			}
			maps = guestmem.AppendMapping(maps, guestmem.Mapping{VA: at, PA: pa, Size: size,
				Writable: writable && d&attrRDONLY == 0})
		}
	}
	walk(base, entries, level, 0, true)
	return maps, truncated, nil
}

// levelShift is log2 of the bytes one entry of a level maps: 512 GiB at
// level 0 down to 4 KiB at level 3.
func levelShift(level int) uint { return 12 + 9*uint(3-level) }
