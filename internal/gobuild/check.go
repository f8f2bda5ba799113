package gobuild

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// CheckLoadable applies upstream solo5-hvt's ELF rules (elf_load and
// elf_load_note in tenders/common/elf.c) to img, for the largest guest
// (4 GiB): header fields, ascending, page-aligned, non-overlapping
// PT_LOADs above 0x100000 without W+X, and ABI1 and MFT1 notes found
// through PT_NOTE program headers. It is a build-time self-check; the
// monitor applies its own loader at run time.
func CheckLoadable(img []byte) error {
	le := binary.LittleEndian
	if len(img) < 64 || !bytes.Equal(img[:4], []byte("\x7fELF")) || img[4] != 2 || img[5] != 1 {
		return fmt.Errorf("%w: bad ELF identification", ErrNotLoadable)
	}
	if le.Uint32(img[20:]) != 1 || le.Uint16(img[52:]) != 64 || le.Uint16(img[54:]) != phdrSize ||
		le.Uint16(img[16:]) != 2 || le.Uint16(img[18:]) != 62 {
		return fmt.Errorf("%w: bad ELF header (version, ehsize, phentsize, type or machine)", ErrNotLoadable)
	}
	const memSize = 4 << 30
	entry := le.Uint64(img[24:])
	if entry < guestabi.GuestMinBase || entry >= memSize {
		return fmt.Errorf("%w: entry %#x out of range", ErrNotLoadable, entry)
	}
	phoff, phnum := le.Uint64(img[32:]), uint64(le.Uint16(img[56:]))
	if phnum == 0 || phoff+phnum*phdrSize > uint64(len(img)) {
		return fmt.Errorf("%w: program headers out of the file", ErrNotLoadable)
	}
	var prevVaddr, end uint64
	var haveABI, haveMFT bool
	r := bytes.NewReader(img)
	for i := uint64(0); i < phnum; i++ {
		ph := img[phoff+i*phdrSize:]
		typ, flags := le.Uint32(ph), le.Uint32(ph[4:])
		off, vaddr, filesz, memsz, align := le.Uint64(ph[8:]), le.Uint64(ph[16:]), le.Uint64(ph[32:]), le.Uint64(ph[40:]), le.Uint64(ph[48:])
		switch typ {
		case ptNote:
			if p, ok, err := guestabi.ReadNote(r, off, filesz, guestabi.NoteABI1); err != nil {
				return fmt.Errorf("%w: %v", ErrNotLoadable, err)
			} else if ok {
				info, err := guestabi.DecodeABIInfo(p)
				if err == nil {
					err = info.Check()
				}
				if err != nil {
					return fmt.Errorf("%w: %v", ErrNotLoadable, err)
				}
				haveABI = true
			}
			if p, ok, err := guestabi.ReadNote(r, off, filesz, guestabi.NoteMFT1); err != nil {
				return fmt.Errorf("%w: %v", ErrNotLoadable, err)
			} else if ok {
				if _, err := guestabi.DecodeManifest(p); err != nil {
					return fmt.Errorf("%w: %v", ErrNotLoadable, err)
				}
				haveMFT = true
			}
		case ptLoad:
			if filesz == 0 {
				continue
			}
			if vaddr < guestabi.GuestMinBase || vaddr < prevVaddr {
				return fmt.Errorf("%w: segment %d at %#x below the minimum or out of order", ErrNotLoadable, i, vaddr)
			}
			if align == 0 || align&(align-1) != 0 {
				return fmt.Errorf("%w: segment %d alignment %#x", ErrNotLoadable, i, align)
			}
			start := vaddr &^ (align - 1)
			if start < guestabi.GuestMinBase || start < end {
				return fmt.Errorf("%w: segment %d at %#x overlaps", ErrNotLoadable, i, vaddr)
			}
			if memsz < filesz || off+filesz > uint64(len(img)) || vaddr+memsz > memSize {
				return fmt.Errorf("%w: segment %d sizes", ErrNotLoadable, i)
			}
			segEnd := alignUp(vaddr+memsz, align)
			if start%pageSize != 0 || segEnd%pageSize != 0 {
				return fmt.Errorf("%w: segment %d not page aligned", ErrNotLoadable, i)
			}
			if flags&pfW != 0 && flags&pfX != 0 {
				return fmt.Errorf("%w: segment %d requests WRITE and EXEC permissions", ErrNotLoadable, i)
			}
			prevVaddr, end = vaddr, max(end, segEnd)
		}
	}
	if !haveABI {
		return fmt.Errorf("%w: no Solo5 ABI information found in executable", ErrNotLoadable)
	}
	if !haveMFT {
		return fmt.Errorf("%w: no Solo5 manifest found in executable", ErrNotLoadable)
	}
	return nil
}
