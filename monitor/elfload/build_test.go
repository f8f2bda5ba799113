package elfload

import (
	"debug/elf"
	"encoding/binary"

	"github.com/unimon/unimon/guestabi"
)

// testPhdr is one program header of a test ELF. When data is non-nil,
// encode places it in the file and sets off and filesz from it.
type testPhdr struct {
	typ, flags                       uint32
	off, vaddr, filesz, memsz, align uint64
	data                             []byte
}

// testELF is a Solo5-shaped ELF built by the tests. Fields that encode does
// not take from here (ident bytes, sizes) are patched in the encoded bytes.
type testELF struct {
	machine elf.Machine
	entry   uint64
	phdrs   []testPhdr
}

// Indexes of the program headers of validELF, laid out like the hvt
// linker script lays out a real unikernel.
const (
	phInterp = iota
	phText
	phRodata
	phData
	phTdata
	phTLS
	phBSS
	phNoteBSD
	phNoteABI
	phNoteMFT
)

// Offsets of fields inside the ELF header and a program header.
const (
	offType      = 16
	offMachine   = 18
	offVersion   = 20
	offEntry     = 24
	offPhoff     = 32
	offEhsize    = 52
	offPhentsize = 54
	offPhnum     = 56

	phOffType   = 0
	phOffFlags  = 4
	phOffOffset = 8
	phOffVaddr  = 16
	phOffFilesz = 32
	phOffMemsz  = 40
	phOffAlign  = 48
)

const (
	ptLD = uint32(elf.PT_LOAD)
	ptNT = uint32(elf.PT_NOTE)
)

var tle = binary.LittleEndian

func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// testManifest is the manifest validELF carries.
func testManifest() *guestabi.Manifest {
	return guestabi.NewManifest(
		guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic},
		guestabi.Entry{Name: "service0", Type: guestabi.DeviceNetBasic},
	)
}

func abiNote(target, version uint32) []byte {
	return guestabi.EncodeNote(guestabi.NoteABI1, guestabi.ABIInfo{Target: target, Version: version}.Encode())
}

func mftNote(m *guestabi.Manifest) []byte {
	return guestabi.EncodeNote(guestabi.NoteMFT1, m.Encode())
}

// openBSDNote is the .note.solo5.not_openbsd note every unikernel has and
// the tender must skip.
func openBSDNote() []byte {
	b := make([]byte, 24)
	tle.PutUint32(b[0:], 8) // "OpenBSD\0"
	tle.PutUint32(b[4:], 4)
	tle.PutUint32(b[8:], 1)
	copy(b[12:], "OpenBSD")
	return b
}

// validELF returns a loadable x86_64 hvt unikernel: text, rodata, data
// with a .bss tail, the empty vaddr-0 tdata, a memory-only .bss, and the
// three notes each in its own PT_NOTE.
func validELF() *testELF {
	return &testELF{
		machine: elf.EM_X86_64,
		entry:   0x100010,
		phdrs: []testPhdr{
			phInterp:  {typ: uint32(elf.PT_INTERP), flags: pfR, vaddr: 0x100000, align: 1, data: []byte("/nonexistent/solo5/\x00")},
			phText:    {typ: ptLD, flags: pfR | pfX, vaddr: 0x100000, memsz: 0x40, align: 0x1000, data: pattern(0x90, 0x40)},
			phRodata:  {typ: ptLD, flags: pfR, vaddr: 0x101000, memsz: 100, align: 0x1000, data: pattern(0x11, 100)},
			phData:    {typ: ptLD, flags: pfR | pfW, vaddr: 0x102000, memsz: 0x1800, align: 0x1000, data: pattern(0x22, 0x10)},
			phTdata:   {typ: ptLD, flags: pfR, vaddr: 0, align: 0x1000},
			phTLS:     {typ: uint32(elf.PT_TLS), flags: pfR, vaddr: 0x104000, memsz: 8, align: 8},
			phBSS:     {typ: ptLD, flags: pfR | pfW, vaddr: 0x104000, memsz: 0x2345, align: 0x1000},
			phNoteBSD: {typ: ptNT, flags: pfR, vaddr: 0x101100, align: 4, data: openBSDNote()},
			phNoteABI: {typ: ptNT, flags: pfR, vaddr: 0x101200, align: 4, data: abiNote(1, 2)},
			phNoteMFT: {typ: ptNT, flags: pfR, vaddr: 0x101300, align: 8, data: mftNote(testManifest())},
		},
	}
}

// encode lays the ELF out (header, program headers, then each segment's
// data 16-byte aligned) and fills in off and filesz of every header with data.
func (e *testELF) encode() []byte {
	n := len(e.phdrs)
	pos := (ehdrSize + n*phdrSize + 15) &^ 15
	for i := range e.phdrs {
		p := &e.phdrs[i]
		if p.data == nil {
			continue
		}
		p.off, p.filesz = uint64(pos), uint64(len(p.data))
		pos = (pos + len(p.data) + 15) &^ 15
	}
	b := make([]byte, pos)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	b[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	tle.PutUint16(b[offType:], uint16(elf.ET_EXEC))
	tle.PutUint16(b[offMachine:], uint16(e.machine))
	tle.PutUint32(b[offVersion:], uint32(elf.EV_CURRENT))
	tle.PutUint64(b[offEntry:], e.entry)
	tle.PutUint64(b[offPhoff:], ehdrSize)
	tle.PutUint16(b[offEhsize:], ehdrSize)
	tle.PutUint16(b[offPhentsize:], phdrSize)
	tle.PutUint16(b[offPhnum:], uint16(n))
	for i, p := range e.phdrs {
		h := b[ehdrSize+i*phdrSize:]
		tle.PutUint32(h[phOffType:], p.typ)
		tle.PutUint32(h[phOffFlags:], p.flags)
		tle.PutUint64(h[phOffOffset:], p.off)
		tle.PutUint64(h[phOffVaddr:], p.vaddr)
		tle.PutUint64(h[24:], p.vaddr) // p_paddr
		tle.PutUint64(h[phOffFilesz:], p.filesz)
		tle.PutUint64(h[phOffMemsz:], p.memsz)
		tle.PutUint64(h[phOffAlign:], p.align)
		if p.data != nil {
			copy(b[p.off:], p.data)
		}
	}
	return b
}

// setPhdr64 and setPhdr32 overwrite one field of program header i.
func setPhdr64(b []byte, i, field int, v uint64) {
	tle.PutUint64(b[ehdrSize+i*phdrSize+field:], v)
}

func setPhdr32(b []byte, i, field int, v uint32) {
	tle.PutUint32(b[ehdrSize+i*phdrSize+field:], v)
}
