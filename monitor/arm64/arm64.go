// Package arm64 computes the boot state of a Solo5 hvt guest on aarch64:
// the identity page tables in guest memory, the system and core register
// values the vCPU starts with (as KVM_SET_ONE_REG register IDs), and the
// decoding of hypercalls, which aarch64 guests issue as MMIO stores.
//
// Like package x86_64 it is pure computation plus writes through
// guestmem, and it builds on every host architecture so its rules are
// unit-tested on the x86_64 machines; only HostCounterFrequency needs an
// arm64 host.
package arm64

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Guest-physical layout (ABI doc section 10). RAM is [0, 4 GiB); the 1 GiB
// above it is the MMIO window where hypercalls land.
const (
	PGDBase = 0x1000 // TTBR0_EL1: level 0 table
	PUDBase = 0x2000 // level 1: 1 GiB entries
	PMDBase = 0x3000 // level 2: four pages, 2 MiB entries, 4 GiB in all
	PTEBase = 0x7000 // level 3: 4 KiB entries for the first 2 MiB

	MMIOBase = guestabi.MMIOBase
	MMIOSize = 1 << 30

	// PageSize is the translation granule the guest's tables use. The
	// host must use the same page size (see CheckHostPageSize).
	PageSize = 4096
)

// Stage-1 descriptor bits (ARM ARM D8.3, 4 KiB granule).
const (
	descTable = 3 << 0 // next-level table (levels 0-2)
	descBlock = 1 << 0 // block (levels 1-2)
	descPage  = 3 << 0 // page (level 3)

	attrRDONLY = 1 << 7  // AP[2]: read-only at EL1
	attrSH     = 3 << 8  // inner shareable
	attrAF     = 1 << 10 // access flag set, so no access-flag faults
	attrPXN    = 1 << 53 // no execution at EL1
	attrUXN    = 1 << 54 // no execution at EL0

	// attrIndx selects a MAIR_EL1 byte; see MAIR below.
	attrDeviceNGnRE = 1 << 2
	attrNormal      = 4 << 2
)

// Descriptor attribute sets, as upstream uses them: read-only data for
// the boot info area, normal memory executable at EL1 for the rest of RAM,
// device memory for the MMIO window.
const (
	pageNormalRO   = descPage | attrAF | attrSH | attrNormal | attrPXN | attrUXN | attrRDONLY
	pageNormalExec = descPage | attrAF | attrSH | attrNormal | attrUXN
	blockNormal    = descBlock | attrAF | attrSH | attrNormal | attrUXN
	blockDevice    = descBlock | attrAF | attrSH | attrDeviceNGnRE | attrPXN | attrUXN
)

var le = binary.LittleEndian

// SetupMemory writes identity page tables for all of guest memory: 4 KiB
// pages for the first 2 MiB (nothing below the boot info at 0x10000, so a
// NULL dereference faults; read-only, never executable, up to 0x100000;
// normal read-write-execute above), 2 MiB blocks beyond, and the MMIO
// window as one 1 GiB device block at 4 GiB.
func SetupMemory(mem *guestmem.Memory) error {
	size := mem.Size()
	if size%guestmem.Granule != 0 || size < guestmem.Granule || size > MMIOBase {
		return fmt.Errorf("arm64 page tables: guest memory of %#x bytes is not a multiple of 2 MiB up to 4 GiB", size)
	}
	// Zeroed, not written with zeroes: fresh guest memory is zero
	// already, and writing zeroes would make resident table pages that
	// small guests leave empty (issue 12: peak RSS).
	tables, err := mem.Zeroed(PGDBase, PTEBase+PageSize-PGDBase)
	if err != nil {
		return fmt.Errorf("arm64 page tables: %w", err)
	}
	put := func(gpa, v uint64) { le.PutUint64(tables[gpa-PGDBase:], v) }

	for addr := uint64(0); addr < guestmem.Granule; addr += PageSize {
		var d uint64
		switch {
		case addr < guestabi.BootInfoAddr:
			continue // unmapped: page tables and the zero page
		case addr < guestabi.GuestMinBase:
			d = addr | pageNormalRO // boot info, manifest, command line
		default:
			d = addr | pageNormalExec
		}
		put(PTEBase+8*(addr/PageSize), d)
	}
	// The PMD pages are contiguous, so entry i covers [i*2 MiB, (i+1)*2 MiB)
	// whichever page it lies in; entry 0 is the 4 KiB table above.
	put(PMDBase, PTEBase|descTable)
	for addr := uint64(guestmem.Granule); addr < size; addr += guestmem.Granule {
		put(PMDBase+8*(addr/guestmem.Granule), addr|blockNormal)
	}
	for gib := uint64(0); gib*(1<<30) < size; gib++ {
		put(PUDBase+8*gib, (PMDBase+gib*PageSize)|descTable)
	}
	put(PUDBase+8*(MMIOBase>>30), MMIOBase|blockDevice)
	put(PGDBase, PUDBase|descTable)
	return nil
}

// ErrHostPageSize is returned by CheckHostPageSize on hosts whose page
// size is not 4 KiB.
var ErrHostPageSize = errors.New("host page size not supported")

// CheckHostPageSize refuses hosts with a page size other than 4 KiB.
// The hvt ABI lays out 4 KiB pages (boot info at 0x10000, read-only text
// pages of a Solo5 ELF aligned to 4 KiB), which a 16 KiB or 64 KiB host
// can neither map into KVM memory slots nor protect page by page
// (upstream Solo5 issue #529).
func CheckHostPageSize(size int) error {
	if size != PageSize {
		return fmt.Errorf("%w: the host uses %d KiB pages; the Solo5 hvt ABI on aarch64 needs a 4 KiB-page host kernel", ErrHostPageSize, size/1024)
	}
	return nil
}
