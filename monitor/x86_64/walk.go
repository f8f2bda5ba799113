package x86_64

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/unimon/unimon/monitor/guestmem"
)

// ErrNotMapped is returned (wrapped) by Translate for a virtual address
// the guest's page tables do not map, or map through entries that point
// outside guest memory.
var ErrNotMapped = errors.New("virtual address not mapped")

// Page-table walk bits beyond the ones the boot tables use.
const (
	pteAddr   = 0x000f_ffff_ffff_f000 // bits 12-51: the next table or the page
	pageShift = 12
	// MaxWalkEntries bounds how many page-table entries Mappings reads:
	// a guest whose tables point back at themselves (every PDPT entry at
	// the same directory, say) would otherwise describe petabytes.
	MaxWalkEntries = 1 << 21
	// MaxMappings bounds how many runs Mappings returns (a core file has
	// one segment per run, and ELF counts them in 16 bits).
	MaxMappings = 1 << 15
)

// Translate returns the guest-physical address of virtual address va
// under the 4-level page tables at cr3, and whether the mapping allows
// writes at every level. The tables are guest data: every entry is read
// through guestmem's checked accessor, so garbage tables give an error,
// never a host fault.
func Translate(mem *guestmem.Memory, cr3, va uint64) (pa uint64, writable bool, err error) {
	if !canonical(va) {
		return 0, false, fmt.Errorf("%w: %#x is not canonical", ErrNotMapped, va)
	}
	table := cr3 & pteAddr
	writable = true
	for level := 3; level >= 0; level-- {
		shift := pageShift + 9*uint(level)
		e, err := entry(mem, table, va>>shift&511)
		if err != nil {
			return 0, false, fmt.Errorf("%w: %#x: %w", ErrNotMapped, va, err)
		}
		if e&ptePresent == 0 {
			return 0, false, fmt.Errorf("%w: %#x (level %d entry not present)", ErrNotMapped, va, level+1)
		}
		writable = writable && e&pteWritable != 0
		if level == 0 || (level <= 2 && e&pteLarge != 0) {
			size := uint64(1) << shift
			pa = e&pteAddr&^(size-1) | va&(size-1)
			if pa >= mem.Size() {
				return 0, false, fmt.Errorf("%w: %#x maps to gpa %#x, outside guest memory", ErrNotMapped, va, pa)
			}
			return pa, writable, nil
		}
		table = e & pteAddr
	}
	panic("unreachable")
}

// Mapping is one run of virtual memory mapped to contiguous physical
// memory.
type Mapping = guestmem.Mapping

// Mappings lists the present mappings under the page tables at cr3, in
// virtual address order, merging neighbours that are contiguous in both
// spaces. Leaves that point outside guest memory are left out. It reads
// at most MaxWalkEntries entries, returns at most MaxMappings runs, and
// reports truncated when it stopped at either bound.
func Mappings(mem *guestmem.Memory, cr3 uint64) (maps []Mapping, truncated bool) {
	budget := MaxWalkEntries
	var walk func(table uint64, level int, base uint64, writable bool)
	walk = func(table uint64, level int, base uint64, writable bool) {
		b, err := mem.Bytes(table&pteAddr, 4096)
		if err != nil {
			return
		}
		shift := pageShift + 9*uint(level)
		for i := uint64(0); i < 512; i++ {
			if budget == 0 || len(maps) >= MaxMappings {
				truncated = true
				return
			}
			budget--
			e := binary.LittleEndian.Uint64(b[8*i:])
			if e&ptePresent == 0 {
				continue
			}
			va := signExtend(base | i<<shift)
			w := writable && e&pteWritable != 0
			if level == 0 || (level <= 2 && e&pteLarge != 0) {
				size := uint64(1) << shift
				pa := e & pteAddr &^ (size - 1)
				if pa >= mem.Size() || mem.Size()-pa < size {
					continue
				}
				maps = guestmem.AppendMapping(maps, Mapping{VA: va, PA: pa, Size: size, Writable: w})
				continue
			}
			walk(e&pteAddr, level-1, base|i<<shift, w)
		}
	}
	walk(cr3, 3, 0, true)
	return maps, truncated
}

func entry(mem *guestmem.Memory, table, index uint64) (uint64, error) {
	b, err := mem.Bytes(table+8*index, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// canonical reports whether bits 63-47 of va are all equal, as 4-level
// paging requires.
func canonical(va uint64) bool { return signExtend(va) == va }

func signExtend(va uint64) uint64 { return uint64(int64(va<<16) >> 16) }
