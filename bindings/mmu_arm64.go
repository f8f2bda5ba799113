//go:build linux && arm64

package bindings

// Page tables on arm64 (4 KiB granule, 48-bit addresses, four levels):
// rt0 builds the identity map of RAM (the text read-only and executable
// at EL0 and EL1, everything else read-write at EL0 and never executable
// at EL1); the program's pages above 4 GiB are added by walk in 4 KiB
// pages. The kernel runs at EL0 and writes the tables itself: they are
// ordinary EL0 memory in the private area.
const (
	descValid = 1
	descTable = 3 // levels 0-2: next table; level 3: page
	descAddr  = 0x0000_ffff_ffff_f000
	// A program page: AF, inner shareable, normal memory (MAIR index 4),
	// AP=01 (read-write at EL0 and EL1), UXN.
	pageUserRW = descTable | 1<<10 | 3<<8 | 4<<2 | 1<<6 | 1<<54
	// The access permissions AP[2:1] (bits 7:6) of a page: 01 read-write
	// at EL0 and EL1, 11 read-only at both, 00 EL1 only.
	pageAPMask = 3 << 6
	pageAPRO   = 3 << 6
)

// privateEnd is where the private area and its tables end.
const privateEnd = 0x100000

func pteValid(e uint64) bool { return e&descTable == descTable }

func pteFrame(e uint64) uintptr { return uintptr(e & descAddr) }

// pteUserPage is the entry mapping frame pa for the program, writable
// or read-only.
func pteUserPage(pa uintptr, write bool) uint64 {
	if !write {
		return uint64(pa) | pageUserRW&^pageAPMask | pageAPRO
	}
	return uint64(pa) | pageUserRW
}

// pteNoAccess maps frame pa so that the program cannot touch it
// (PROT_NONE over pages that keep their data): AP=00, EL1 only. The
// kernel, which runs at EL0 too, reaches the frame through the identity
// map, as it does every page of the program.
func pteNoAccess(pa uintptr) uint64 { return uint64(pa) | pageUserRW&^pageAPMask }

// walk returns the level-3 entry for va, creating tables on the way when
// create is set; nil when a table is missing, va is in the identity map's
// blocks, or RAM is exhausted.
func walk(va uintptr, create bool) *uint64 {
	table := uintptr(l0Base)
	for shift := uint(39); shift > 12; shift -= 9 {
		e := u64at(table + (va>>shift&511)*8)
		if *e&descValid == 0 {
			if !create {
				return nil
			}
			pa := allocTable()
			if pa == 0 {
				outOfMemory()
			}
			*e = uint64(pa) | descTable
		}
		if *e&descTable != descTable {
			return nil // a block of the identity map, never the program's
		}
		table = uintptr(*e & descAddr)
	}
	return u64at(table + (va>>12&511)*8)
}
