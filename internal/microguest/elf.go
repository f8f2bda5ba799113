package microguest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// TextAddr is where ELF loads a guest's text: the lowest address a Solo5
// segment may use, as upstream's linker script places .text.
const TextAddr = guestabi.GuestMinBase

const (
	pageSize  = guestabi.PageSize
	ehdrSize  = 64 // e_ehsize upstream requires
	phentSize = 56 // e_phentsize upstream requires
)

// Guest describes a guest executable for ELF.
type Guest struct {
	// Machine is e_machine; zero means elf.EM_X86_64. EM_AARCH64 gives an
	// aarch64 executable of the same layout.
	Machine elf.Machine
	// Text is the code, loaded at TextAddr in a PF_R|PF_X segment.
	Text []byte
	// Data, if not empty, is loaded in its own 4 KiB-aligned PF_R|PF_W
	// segment after the text and the notes.
	Data []byte
	// BSS is how many zeroed bytes follow Data in the data segment. With
	// an empty Data this is a file-size-zero PT_LOAD, which upstream's
	// loader skips (like its own .bss): the memory is zero only because
	// guest memory starts zeroed.
	BSS uint64
	// DataAddr is the guest address of the data segment; zero means the
	// first 4 KiB boundary after the notes. Code that refers to its data
	// by absolute address sets it, because the automatic address depends
	// on the size of the text. It must be 4 KiB aligned and above the
	// notes.
	DataAddr uint64
	// Entry is the entry point as an offset into Text.
	Entry uint64
	// Manifest is stamped into the MFT1 note; nil means no devices (only
	// the reserved entry 0, as solo5-elftool emits for an empty list).
	Manifest *guestabi.Manifest
	// ABI is stamped into the ABI1 note; the zero value means the hvt
	// target, ABI version 2.
	ABI guestabi.ABIInfo
	// Request, when not zero, adds unimon's feature request note asking
	// for these guestabi.Request* bits.
	Request uint32
	// WorkingSet, when not empty, adds unimon's boot working set note with
	// this payload (guestabi.EncodeWorkingSet; raw, so that tests can
	// give malformed ones).
	WorkingSet []byte
	// OmitABINote and OmitManifestNote leave a note (and its PT_NOTE) out,
	// to test how a monitor rejects such files.
	OmitABINote, OmitManifestNote bool
}

// Layout is where ELF places a guest's segments in guest memory.
type Layout struct {
	Text, Notes, Data uint64 // start addresses; Notes is 0 with no notes
}

// noteSeg is one note's place inside the notes segment.
type noteSeg struct {
	off, size uint64
}

// notePAlign is the p_align of both PT_NOTEs. Solo5 notes are in the
// 4-byte note format (the MFT1 descriptor starts at offset 20 and counts
// its own 4 pad bytes), and upstream declares them aligned(4); with
// p_align 8 readelf would parse the MFT1 note in the 8-byte format and
// complain. The loader never looks at a PT_NOTE's p_align. The MFT1 note
// itself still starts 8-byte aligned, so struct mft is aligned in memory.
const notePAlign = 4

// notes returns the notes segment's contents and the place of each note
// in it, ABI1 first.
func (g *Guest) notes() ([]byte, []noteSeg) {
	var b []byte
	var segs []noteSeg
	add := func(k guestabi.NoteKind, payload []byte) {
		n := guestabi.EncodeNote(k, payload)
		// The note's own size (header plus 4-byte-padded descriptor) is
		// what the PT_NOTE covers, so tools that walk the segment find
		// exactly one note; EncodeNote's extra padding only keeps the next
		// note 8-byte aligned.
		desc := uint64(binary.LittleEndian.Uint32(n[4:]))
		size := guestabi.NoteHeaderSize + (desc+3)&^3
		segs = append(segs, noteSeg{off: uint64(len(b)), size: size})
		b = append(b, n...)
	}
	if !g.OmitABINote {
		abi := g.ABI
		if abi == (guestabi.ABIInfo{}) {
			abi = guestabi.ABIInfo{Target: guestabi.ABITargetHVT, Version: guestabi.ABIVersion}
		}
		add(guestabi.NoteABI1, abi.Encode())
	}
	if !g.OmitManifestNote {
		m := g.Manifest
		if m == nil {
			m = guestabi.NewManifest()
		}
		add(guestabi.NoteMFT1, m.Encode())
	}
	if g.Request != 0 {
		add(guestabi.NoteFeatures, binary.LittleEndian.AppendUint32(nil, g.Request))
	}
	if len(g.WorkingSet) > 0 {
		add(guestabi.NoteWorkingSet, g.WorkingSet)
	}
	return b, segs
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

// layout computes the segment addresses for notes of notesLen bytes.
func (g *Guest) layout(notesLen int) Layout {
	// An empty text still gets its page, so the notes never share an
	// address with the entry point.
	end := TextAddr + max(alignUp(uint64(len(g.Text)), pageSize), pageSize)
	l := Layout{Text: TextAddr}
	if notesLen > 0 {
		l.Notes = end
		end = alignUp(end+uint64(notesLen), pageSize)
	}
	l.Data = end
	if g.DataAddr != 0 {
		if g.DataAddr%pageSize != 0 || g.DataAddr < end {
			panic(fmt.Sprintf("microguest: Guest.DataAddr %#x must be 4 KiB aligned and at least %#x (the end of text and notes)", g.DataAddr, end))
		}
		l.Data = g.DataAddr
	}
	return l
}

// GuestLayout returns where ELF(g) places g's segments in guest memory.
func GuestLayout(g Guest) Layout {
	n, _ := g.notes()
	return g.layout(len(n))
}

// ELF returns g as a Solo5 hvt executable: ELFCLASS64, little-endian,
// ET_EXEC, no section headers, and these program headers in this order:
//
//   - PT_LOAD text at TextAddr, PF_R|PF_X;
//   - PT_LOAD notes on the next 4 KiB boundary, PF_R, holding both notes;
//   - PT_LOAD data at Layout.Data, PF_R|PF_W (if Data or BSS);
//   - one PT_NOTE for the ABI1 note and one for the MFT1 note, each over
//     its note inside the notes segment, as upstream's linker script does.
//
// Every PT_LOAD has p_align 4 KiB, page-aligned bounds and a file offset
// congruent to its address, so the file passes upstream's loader rules.
//
// ELF panics if g.DataAddr is set but misaligned or overlapping: that is a
// bug in the guest builder, never a run-time condition.
func ELF(g Guest) []byte {
	machine := g.Machine
	if machine == 0 {
		machine = elf.EM_X86_64
	}
	notes, noteSegs := g.notes()
	l := g.layout(len(notes))

	var progs []elf.Prog64
	hasData := len(g.Data) > 0 || g.BSS > 0
	nprog := 1 + len(noteSegs)
	if len(notes) > 0 {
		nprog++
	}
	if hasData {
		nprog++
	}

	// File layout mirrors memory layout page for page (offset ≡ address
	// mod 4 KiB), with the headers in the first page.
	off := alignUp(ehdrSize+uint64(nprog)*phentSize, pageSize)
	file := make([]byte, off)
	place := func(b []byte) uint64 {
		at := uint64(len(file))
		file = append(file, b...)
		file = append(file, make([]byte, alignUp(uint64(len(file)), pageSize)-uint64(len(file)))...)
		return at
	}

	textOff := place(g.Text)
	progs = append(progs, elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
		Off: textOff, Vaddr: l.Text, Paddr: l.Text,
		Filesz: uint64(len(g.Text)), Memsz: uint64(len(g.Text)), Align: pageSize,
	})
	var notesOff uint64
	if len(notes) > 0 {
		notesOff = place(notes)
		progs = append(progs, elf.Prog64{
			Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R),
			Off: notesOff, Vaddr: l.Notes, Paddr: l.Notes,
			Filesz: uint64(len(notes)), Memsz: uint64(len(notes)), Align: pageSize,
		})
	}
	if hasData {
		dataOff := place(g.Data)
		progs = append(progs, elf.Prog64{
			Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_W),
			Off: dataOff, Vaddr: l.Data, Paddr: l.Data,
			Filesz: uint64(len(g.Data)), Memsz: uint64(len(g.Data)) + g.BSS, Align: pageSize,
		})
	}
	for _, n := range noteSegs {
		progs = append(progs, elf.Prog64{
			Type: uint32(elf.PT_NOTE), Flags: uint32(elf.PF_R),
			Off: notesOff + n.off, Vaddr: l.Notes + n.off, Paddr: l.Notes + n.off,
			Filesz: n.size, Memsz: n.size, Align: notePAlign,
		})
	}
	// Drop the padding after the last segment: nothing is loaded from it.
	last := progs[len(progs)-1]
	for _, p := range progs {
		if p.Type == uint32(elf.PT_LOAD) {
			last = p
		}
	}
	file = file[:last.Off+last.Filesz]

	hdr := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(machine),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     l.Text + g.Entry,
		Phoff:     ehdrSize,
		Ehsize:    ehdrSize,
		Phentsize: phentSize,
		Phnum:     uint16(len(progs)),
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	hdr.Ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)

	b, err := binary.Append(nil, binary.LittleEndian, hdr)
	if err != nil {
		panic(err) // fixed-size struct: cannot happen
	}
	for _, p := range progs {
		if b, err = binary.Append(b, binary.LittleEndian, p); err != nil {
			panic(err)
		}
	}
	copy(file, b)
	return file
}
