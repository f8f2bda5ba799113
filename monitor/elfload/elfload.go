// Package elfload applies upstream Solo5's ELF rules (tenders/common/elf.c)
// to a unikernel: it checks the ELF header, finds the Solo5 ABI1 and MFT1
// notes through PT_NOTE program headers, and loads PT_LOAD segments into
// guest memory.
//
// Every byte of the file is treated as hostile. The header and program
// headers are parsed here rather than with debug/elf, because debug/elf
// accepts files upstream refuses and reads section headers, which the
// tender never trusts. Reads past the end of the file are reported as
// truncation, and the only allocation that depends on the file (the
// program header table) grows with the bytes actually read, never with
// what e_phnum claims.
//
// It does not import debug/elf even for its constants: a program that
// links debug/elf also links debug/dwarf and the decompressors, and runs
// their package initialisation at start-up, which costs the monitor's
// CLI memory on every run. Its tests check its constants against
// debug/elf's.
package elfload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// ErrInvalidELF is wrapped by every rejection of the file's contents. Its
// text is upstream's INV_EXE. Failures of the reader itself or of the host
// (I/O errors, mprotect) do not wrap it.
var ErrInvalidELF = errors.New("invalid executable")

// ErrNotELF is wrapped (together with ErrInvalidELF) when the file does
// not start with the ELF magic: a script, a text file, an empty file.
var ErrNotELF = errors.New("not an ELF file")

// ErrNoABINote is wrapped (together with ErrInvalidELF) when no PT_NOTE
// holds a Solo5 ABI1 note. The text is upstream's, so users of both
// tenders see the same words.
var ErrNoABINote = errors.New("No Solo5 ABI information found in executable")

// ErrNoManifest is wrapped (together with ErrInvalidELF) when no PT_NOTE
// holds a Solo5 MFT1 note; the text is upstream's.
var ErrNoManifest = errors.New("No Solo5 manifest found in executable")

// ELF64 layout constants (the Elf64_Ehdr and Elf64_Phdr sizes upstream
// demands, and the page size its loader enforces on segment bounds).
const (
	ehdrSize = 64
	phdrSize = 56
	pageSize = guestabi.PageSize
	minBase  = guestabi.GuestMinBase
)

// The ELF values the rules look for (debug/elf's ELFMAG, EI_CLASS, ...).
const (
	elfMagic    = "\x7fELF"
	eiClass     = 4 // e_ident index of the class
	eiData      = 5 // e_ident index of the byte order
	elfClass64  = 2
	elfData2LSB = 1
	evCurrent   = 1
	etExec      = 2
	ptLoad      = 1
	ptNote      = 4
	pfX         = 0x1
	pfW         = 0x2
	pfR         = 0x4
)

// phdrChunk bounds how far the program header buffer runs ahead of the
// bytes the file really has, so a hostile e_phnum costs at most this much.
const phdrChunk = 16 << 10

var le = binary.LittleEndian

// Image is what loading produced.
type Image struct {
	// Entry is e_entry, already checked to lie in [0x100000, mem.Size()).
	Entry uint64
	// KernelEnd is upstream's gpa_kend: the highest p_vaddr_end (aligned
	// up to p_align) of the file-backed PT_LOAD segments, 0 if there are
	// none. Memory-only segments such as .bss do not count, so it is not
	// the end of the image; the guest bindings use their own _end instead.
	KernelEnd uint64
}

// ehdr holds the header fields the rules look at.
type ehdr struct {
	entry uint64
	phoff uint64
	phnum uint16
}

// progHeader is one Elf64_Phdr.
type progHeader struct {
	typ, flags                       uint32
	off, vaddr, filesz, memsz, align uint64
}

// File is a unikernel ELF whose header was checked and whose program
// header table was read once, by Parse. Its methods apply the package's
// rules (Notes, Features, Check, MinMemory, Load) without reading or
// checking the header again, and read only the bytes each needs from the
// underlying io.ReaderAt, which must stay readable while File is used. A
// File may be used by several goroutines at once if its reader may.
type File struct {
	f *file
}

// Parse checks r's ELF header as upstream's ehdr_is_valid does and reads
// its program header table, for the methods of File. Its errors are those
// of Notes, Features, Check and Load for the same file.
func Parse(r io.ReaderAt, machine Machine) (*File, error) {
	f, err := open(r, machine)
	if err != nil {
		return nil, err
	}
	return &File{f: f}, nil
}

// file is a header-checked ELF with its whole program header table read.
type file struct {
	r     io.ReaderAt
	h     ehdr
	phdrs []byte // e_phnum * 56 bytes
}

func (f *file) phnum() int { return len(f.phdrs) / phdrSize }

func (f *file) phdr(i int) progHeader {
	b := f.phdrs[i*phdrSize : (i+1)*phdrSize]
	return progHeader{
		typ:    le.Uint32(b[0:]),
		flags:  le.Uint32(b[4:]),
		off:    le.Uint64(b[8:]),
		vaddr:  le.Uint64(b[16:]),
		filesz: le.Uint64(b[32:]),
		memsz:  le.Uint64(b[40:]),
		align:  le.Uint64(b[48:]),
	}
}

// readAt reads exactly len(b) bytes at off. A file too short to hold them
// yields io.ErrUnexpectedEOF, which callers turn into an ErrInvalidELF;
// any other error is the reader's own.
func readAt(r io.ReaderAt, b []byte, off uint64) (int, error) {
	if off > math.MaxInt64 || uint64(len(b)) > math.MaxInt64-off {
		// No file is that long; asking the reader would only make it
		// reject a negative offset in its own words.
		return 0, io.ErrUnexpectedEOF
	}
	n, err := r.ReadAt(b, int64(off))
	if n < 0 || n > len(b) {
		return 0, fmt.Errorf("reader returned %d for a %d-byte read", n, len(b))
	}
	if n == len(b) {
		// io.ReaderAt may report io.EOF together with the last byte.
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readErr turns a failed readAt into the package's error: truncation is a
// property of the file, anything else is the reader's failure.
func readErr(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s (file truncated)", ErrInvalidELF, msg)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func checkMachine(machine Machine) error {
	if machine != MachineX86_64 && machine != MachineAArch64 {
		return fmt.Errorf("elfload: unsupported target machine %v (want EM_X86_64 or EM_AARCH64)", machine)
	}
	return nil
}

// open reads and checks the ELF header as upstream's ehdr_is_valid does,
// in the same order, then reads the program header table once.
func open(r io.ReaderAt, machine Machine) (*file, error) {
	if err := checkMachine(machine); err != nil {
		return nil, err
	}
	var b [ehdrSize]byte
	n, err := readAt(r, b[:], 0)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, readErr(err, "ELF header does not match the expected size (read %d of %d bytes)", n, ehdrSize)
	}
	// The magic comes first, even in a file too short for a header, so a
	// text file or an empty one is called what it is rather than a
	// truncated ELF.
	switch {
	case n == 0:
		return nil, fmt.Errorf("%w: %w: the file is empty", ErrInvalidELF, ErrNotELF)
	case n < len(elfMagic) || string(b[:4]) != elfMagic:
		return nil, fmt.Errorf("%w: %w: it starts with %q (e_ident[EI_MAG0..3]), want %q", ErrInvalidELF, ErrNotELF, b[:min(n, 4)], elfMagic)
	case err != nil:
		return nil, readErr(err, "ELF header does not match the expected size (read %d of %d bytes)", n, ehdrSize)
	}
	if c := b[eiClass]; c != elfClass64 {
		return nil, fmt.Errorf("%w: e_ident[EI_CLASS] is %d (%s), want %d (ELFCLASS64)", ErrInvalidELF, c, nameOf(uint32(c), classNames), elfClass64)
	}
	// Both supported targets are little-endian hosts and guests.
	if d := b[eiData]; d != elfData2LSB {
		return nil, fmt.Errorf("%w: e_ident[EI_DATA] is %d (%s), want %d (ELFDATA2LSB)", ErrInvalidELF, d, nameOf(uint32(d), dataNames), elfData2LSB)
	}
	// Upstream checks the e_version word, not e_ident[EI_VERSION], and
	// deliberately ignores EI_OSABI/EI_ABIVERSION, which toolchains
	// cannot be told to set.
	if v := le.Uint32(b[20:]); v != evCurrent {
		return nil, fmt.Errorf("%w: e_version is %d, want %d (EV_CURRENT)", ErrInvalidELF, v, evCurrent)
	}
	if v := le.Uint16(b[52:]); v != ehdrSize {
		return nil, fmt.Errorf("%w: e_ehsize is %d, want %d", ErrInvalidELF, v, ehdrSize)
	}
	h := ehdr{entry: le.Uint64(b[24:]), phoff: le.Uint64(b[32:]), phnum: le.Uint16(b[56:])}
	if h.phnum < 1 {
		return nil, fmt.Errorf("%w: e_phnum is 0, want at least 1", ErrInvalidELF)
	}
	if v := le.Uint16(b[54:]); v != phdrSize {
		return nil, fmt.Errorf("%w: e_phentsize is %d, want %d", ErrInvalidELF, v, phdrSize)
	}
	if t := le.Uint16(b[16:]); t != etExec {
		return nil, fmt.Errorf("%w: e_type is %d (%s), want %d (ET_EXEC)", ErrInvalidELF, t, nameOf(uint32(t), typeNames), etExec)
	}
	if m := Machine(le.Uint16(b[18:])); m != machine {
		return nil, fmt.Errorf("%w: e_machine is %d (%v), want %d (%v)", ErrInvalidELF, uint16(m), m, uint16(machine), machine)
	}

	// e_phnum is 16 bits, so the table is at most 3.5 MiB; reading it in
	// chunks still keeps a truncated file from costing that much.
	size := uint64(h.phnum) * phdrSize
	var buf []byte
	for uint64(len(buf)) < size {
		n := int(min(size-uint64(len(buf)), phdrChunk))
		at := len(buf)
		buf = slices.Grow(buf, n)[:at+n]
		if got, err := readAt(r, buf[at:], h.phoff+uint64(at)); err != nil {
			return nil, readErr(err, "program header table does not match the expected size (read %d of %d bytes: e_phnum %d at e_phoff %#x)",
				at+got, size, h.phnum, h.phoff)
		}
	}
	return &file{r: r, h: h, phdrs: buf}, nil
}

// Notes reads and checks the Solo5 ABI1 and MFT1 notes, found only through
// PT_NOTE program headers (never section headers), after the same ELF
// header checks as Load (but not Load's e_entry check, as upstream). Only
// the first note of each PT_NOTE is looked at, and a PT_NOTE of fewer than
// 12 bytes rejects the file, both as upstream's elf_load_note.
//
// The ABI note must say target 1 (hvt) and version 2 (ABIInfo.Check); the
// manifest must pass guestabi.DecodeManifest and Manifest.Validate
// (upstream's mft_validate). Missing notes wrap ErrNoABINote or
// ErrNoManifest; every rejection wraps ErrInvalidELF.
func Notes(r io.ReaderAt, machine Machine) (guestabi.ABIInfo, *guestabi.Manifest, error) {
	f, err := Parse(r, machine)
	if err != nil {
		return guestabi.ABIInfo{}, nil, err
	}
	return f.Notes()
}

// Notes is the package's Notes for a parsed file.
func (pf *File) Notes() (guestabi.ABIInfo, *guestabi.Manifest, error) {
	f := pf.f
	// Like upstream, the ABI is settled before the manifest is even
	// looked for, so a foreign unikernel is reported as such rather than
	// for an odd manifest.
	payload, err := f.findNote(guestabi.NoteABI1, ErrNoABINote)
	if err != nil {
		return guestabi.ABIInfo{}, nil, err
	}
	// abi1_info is 16 bytes; guestabi decodes the 8 that carry meaning,
	// but a shorter note is not a well-formed one.
	if len(payload) < guestabi.ABIInfoSize {
		return guestabi.ABIInfo{}, nil, fmt.Errorf("%w: %w: ABI note payload is %d bytes, want %d",
			ErrInvalidELF, guestabi.ErrBadNote, len(payload), guestabi.ABIInfoSize)
	}
	abi, err := guestabi.DecodeABIInfo(payload)
	if err != nil {
		return guestabi.ABIInfo{}, nil, fmt.Errorf("%w: %w", ErrInvalidELF, err)
	}
	if err := abi.Check(); err != nil {
		return abi, nil, fmt.Errorf("%w: %w", ErrInvalidELF, err)
	}

	payload, err = f.findNote(guestabi.NoteMFT1, ErrNoManifest)
	if err != nil {
		return abi, nil, err
	}
	mft, err := guestabi.DecodeManifest(payload)
	if err != nil {
		return abi, nil, fmt.Errorf("%w: %w", ErrInvalidELF, err)
	}
	if err := mft.Validate(); err != nil {
		return abi, nil, fmt.Errorf("%w: %w", ErrInvalidELF, err)
	}
	return abi, mft, nil
}

// Features returns the request bits of unimon's feature request note
// (guestabi.NoteFeatures), or 0 when the unikernel has none, as every
// upstream Solo5 unikernel. It applies the same rules as Notes.
func Features(r io.ReaderAt, machine Machine) (uint32, error) {
	f, err := Parse(r, machine)
	if err != nil {
		return 0, err
	}
	return f.Features()
}

// Features is the package's Features for a parsed file.
func (pf *File) Features() (uint32, error) {
	f := pf.f
	payload, err := f.findNote(guestabi.NoteFeatures, errNoFeatures)
	if errors.Is(err, errNoFeatures) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	req, err := guestabi.DecodeFeatureRequest(payload)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidELF, err)
	}
	return req, nil
}

var errNoFeatures = errors.New("no feature request note")

// WorkingSet returns the ranges of unimon's boot working set note
// (guestabi.NoteWorkingSet), or none when the unikernel has no such note,
// as every upstream Solo5 unikernel. It applies the same rules as Notes.
func (pf *File) WorkingSet() ([]guestabi.Range, error) {
	payload, err := pf.f.findNote(guestabi.NoteWorkingSet, errNoWorkingSet)
	if errors.Is(err, errNoWorkingSet) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ranges, err := guestabi.DecodeWorkingSet(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidELF, err)
	}
	return ranges, nil
}

var errNoWorkingSet = errors.New("no boot working set note")

// findNote returns the payload of the first PT_NOTE whose first note is a
// Solo5 note of kind k, or an error wrapping notFound.
func (f *file) findNote(k guestabi.NoteKind, notFound error) ([]byte, error) {
	for i := range f.phnum() {
		ph := f.phdr(i)
		if ph.typ != ptNote {
			continue
		}
		rr := &recordingReader{r: f.r}
		payload, ok, err := guestabi.ReadNote(rr, ph.off, ph.filesz, k)
		if err != nil {
			if rr.err != nil {
				return nil, fmt.Errorf("phdr[%d]: %w", i, err)
			}
			return nil, fmt.Errorf("%w: phdr[%d] (p_offset %#x, p_filesz %#x): %w", ErrInvalidELF, i, ph.off, ph.filesz, err)
		}
		if ok {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrInvalidELF, notFound)
}

// recordingReader remembers a failure of the underlying reader, because
// guestabi.ReadNote reports a truncated note and a failing reader alike,
// while only the first is a fault of the file.
type recordingReader struct {
	r   io.ReaderAt
	err error
}

func (rr *recordingReader) ReadAt(b []byte, off int64) (int, error) {
	n, err := rr.r.ReadAt(b, off)
	if err != nil && err != io.EOF && n < len(b) {
		rr.err = err
	}
	return n, err
}

// segment is a file-backed PT_LOAD that passed every check.
type segment struct {
	index         int
	off, vaddr    uint64
	filesz, memsz uint64
	start, end    uint64 // p_vaddr_start, p_vaddr_end: the page-aligned range to protect
	writable      bool
}

// Load checks the ELF header (as Notes does) and that 0x100000 <= e_entry <
// mem.Size(), then loads every PT_LOAD with p_filesz != 0 into mem by
// upstream's elf_load rules: segments in ascending p_vaddr order at or
// above 0x100000, p_align a non-zero power of two, no overlap, bounds
// against mem.Size() with overflow checks, p_memsz >= p_filesz, 4 KiB
// aligned p_vaddr_start/p_vaddr_end, and no segment both writable and
// executable. The p_memsz - p_filesz tail is zeroed, and each segment's
// aligned range is made read-only on the host unless PF_W is set (PF_X
// only ever means readable: guest code is never host-executable). KVM
// carries the host protection into the guest.
//
// PT_LOAD segments with p_filesz == 0 are skipped as upstream does: no
// checks, no protection, not in KernelEnd. This keeps accepting the empty
// vaddr-0 tdata segment of every hvt unikernel. Unlike upstream, which
// relies on fresh memory, their p_memsz bytes (.bss) are zeroed when they
// lie at or above 0x100000 and inside mem; otherwise they are left alone.
//
// A segment whose aligned end is exactly mem.Size() is refused, although
// upstream accepts it: guestmem's accessor keeps upstream's strict
// guest-pointer bound and cannot reach the last byte.
//
// mem must be writable throughout, as guestmem.New returns it. On error,
// mem's contents and protections are unspecified and it should be
// discarded.
func Load(r io.ReaderAt, machine Machine, mem *guestmem.Memory) (Image, error) {
	f, err := Parse(r, machine)
	if err != nil {
		return Image{}, err
	}
	return f.Load(mem)
}

// Load is the package's Load for a parsed file. Segments are read from
// the file straight into guest memory (with an *os.File, one pread per
// segment into the guest mapping, through the checked accessor).
func (pf *File) Load(mem *guestmem.Memory) (Image, error) {
	// Every header is checked before any byte of memory is written, so
	// a rejected file leaves memory untouched (upstream checks and loads
	// one segment at a time; the verdict is the same either way).
	f := pf.f
	segs, img, err := f.plan(mem.Size())
	if err != nil {
		return Image{}, err
	}

	// Memory-only PT_LOADs (.bss) are zeroed first, so that even if a
	// hostile one overlaps file-backed segments it cannot clobber their
	// contents: those are copied afterwards.
	f.zeroMemoryOnly(mem)

	for _, s := range segs {
		dst, err := mem.Writable(s.vaddr, s.memsz)
		if err != nil {
			// Unreachable: checkSegments proved the range lies inside mem.
			return Image{}, fmt.Errorf("phdr[%d]: %w", s.index, err)
		}
		if n, err := readAt(f.r, dst[:s.filesz], s.off); err != nil {
			return Image{}, readErr(err, "phdr[%d] host file segment mismatched (read %d of %d bytes (p_filesz) at p_offset %#x)",
				s.index, n, s.filesz, s.off)
		}
		// Fresh guest memory is already zero, but the caller may hand
		// us reused memory, and .bss must be zero whatever was there.
		if err := mem.Zero(s.vaddr+s.filesz, s.memsz-s.filesz); err != nil {
			return Image{}, fmt.Errorf("phdr[%d]: %w", s.index, err)
		}
	}

	// Protection comes last, after all writes, so no write can fault on
	// a page made read-only by an earlier segment.
	for _, s := range segs {
		if err := mem.Protect(s.start, s.end-s.start, s.writable); err != nil {
			return Image{}, fmt.Errorf("phdr[%d]: mprotect failed: %w", s.index, err)
		}
	}
	return img, nil
}

// Check applies every rule Load applies for a guest of memSize bytes
// without loading anything: the header, e_entry, each PT_LOAD, and that
// the file holds each segment's bytes. Tools that write unikernels (unimon
// build) check their output with it.
func Check(r io.ReaderAt, machine Machine, memSize uint64) (Image, error) {
	f, err := Parse(r, machine)
	if err != nil {
		return Image{}, err
	}
	return f.Check(memSize)
}

// Check is the package's Check for a parsed file.
func (pf *File) Check(memSize uint64) (Image, error) {
	f := pf.f
	segs, img, err := f.plan(memSize)
	if err != nil {
		return Image{}, err
	}
	var last [1]byte
	for _, s := range segs {
		if s.off+s.filesz < s.off {
			return Image{}, fmt.Errorf("%w: phdr[%d] host file segment mismatched (p_offset %#x + p_filesz %#x overflows) (file truncated)",
				ErrInvalidELF, s.index, s.off, s.filesz)
		}
		if n, err := readAt(f.r, last[:], s.off+s.filesz-1); err != nil {
			return Image{}, readErr(err, "phdr[%d] host file segment mismatched (read %d of 1 bytes at p_offset %#x + p_filesz %#x - 1)",
				s.index, n, s.off, s.filesz)
		}
	}
	return img, nil
}

// plan checks everything Load needs to know before writing memory.
func (f *file) plan(memSize uint64) ([]segment, Image, error) {
	if f.h.entry < minBase || f.h.entry >= memSize {
		return nil, Image{}, fmt.Errorf("%w: e_entry %#x does not fall within the memory allocation range [%#x, %#x)",
			ErrInvalidELF, f.h.entry, uint64(minBase), memSize)
	}
	segs, kernelEnd, err := f.checkSegments(memSize)
	if err != nil {
		return nil, Image{}, err
	}
	return segs, Image{Entry: f.h.entry, KernelEnd: kernelEnd}, nil
}

// checkSegments applies upstream's per-segment rules, in upstream's order,
// to every PT_LOAD with p_filesz != 0. It returns those segments and
// e_end, the running maximum of their aligned ends.
func (f *file) checkSegments(memSize uint64) ([]segment, uint64, error) {
	var (
		segs      []segment
		eEnd      uint64 // highest p_vaddr_end so far: the overlap bound and KernelEnd
		lastVaddr uint64
	)
	for i := range f.phnum() {
		ph := f.phdr(i)
		if ph.filesz == 0 || ph.typ != ptLoad {
			continue
		}
		if ph.vaddr < minBase {
			return nil, 0, fmt.Errorf("%w: phdr[%d].p_vaddr %#x outside of valid memory range (below %#x)", ErrInvalidELF, i, ph.vaddr, uint64(minBase))
		}
		// The ELF specification mandates ascending p_vaddr; upstream
		// enforces it to rule out surprises in what follows.
		if ph.vaddr < lastVaddr {
			return nil, 0, fmt.Errorf("%w: phdr[%d].p_vaddr %#x is not in ascending order (previous segment at %#x)", ErrInvalidELF, i, ph.vaddr, lastVaddr)
		}
		lastVaddr = ph.vaddr
		// Upstream rejects p_align 0, although the ELF specification
		// lets it mean "no alignment"; Solo5 toolchains never emit it.
		if ph.align == 0 || ph.align&(ph.align-1) != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d].p_align %#x is not a non-zero power of two", ErrInvalidELF, i, ph.align)
		}
		start := ph.vaddr &^ (ph.align - 1)
		if start < minBase {
			return nil, 0, fmt.Errorf("%w: phdr[%d].p_vaddr_start %#x (p_vaddr %#x aligned down to p_align %#x) is outside of memory range (below %#x)",
				ErrInvalidELF, i, start, ph.vaddr, ph.align, uint64(minBase))
		}
		if start < eEnd {
			return nil, 0, fmt.Errorf("%w: phdr[%d].p_vaddr_start %#x overlaps the previous segments, which end at %#x", ErrInvalidELF, i, start, eEnd)
		}
		if ph.vaddr >= memSize {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program file segment falls outside of valid range (p_vaddr %#x >= mem_size %#x)", ErrInvalidELF, i, ph.vaddr, memSize)
		}
		fileEnd, carry := bits.Add64(ph.vaddr, ph.filesz, 0)
		if carry != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program file segment falls outside of valid range (p_vaddr %#x + p_filesz %#x overflows)", ErrInvalidELF, i, ph.vaddr, ph.filesz)
		}
		if fileEnd > memSize {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program file segment falls outside of valid range (p_vaddr + p_filesz = %#x > mem_size %#x)", ErrInvalidELF, i, fileEnd, memSize)
		}
		if ph.memsz < ph.filesz {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program memory segment falls outside of valid range (p_memsz %#x < p_filesz %#x)", ErrInvalidELF, i, ph.memsz, ph.filesz)
		}
		memEnd, carry := bits.Add64(ph.vaddr, ph.memsz, 0)
		if carry != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program memory segment falls outside of valid range (p_vaddr %#x + p_memsz %#x overflows)", ErrInvalidELF, i, ph.vaddr, ph.memsz)
		}
		end, carry := bits.Add64(memEnd, ph.align-1, 0)
		if carry != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program memory segment falls outside of valid range (p_vaddr + p_memsz = %#x aligned up to p_align %#x overflows)", ErrInvalidELF, i, memEnd, ph.align)
		}
		end &^= ph.align - 1
		if end > memSize {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program memory segment falls outside of valid range (p_vaddr_end %#x > mem_size %#x)", ErrInvalidELF, i, end, memSize)
		}
		// Upstream allows a segment to reach the very top of memory;
		// guestmem's checked accessor keeps upstream's strict guest-
		// pointer bound and refuses that range, so we refuse it here,
		// with a message that says why, instead of failing later.
		if end == memSize {
			return nil, 0, fmt.Errorf("%w: phdr[%d] program memory segment ends at the top of guest memory (p_vaddr_end %#x == mem_size); unimon needs it to end below", ErrInvalidELF, i, end)
		}
		eEnd = max(eEnd, end)
		// Upstream does the remaining checks after reading the segment;
		// doing them first only changes which fault a file with several
		// gets reported for.
		if start%pageSize != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d] p_vaddr_start %#x not aligned with architectural page size %#x", ErrInvalidELF, i, start, pageSize)
		}
		if end%pageSize != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d] p_vaddr_end %#x not aligned with architectural page size %#x", ErrInvalidELF, i, end, pageSize)
		}
		if ph.flags&pfW != 0 && ph.flags&pfX != 0 {
			return nil, 0, fmt.Errorf("%w: phdr[%d] requests WRITE and EXEC permissions (p_flags %#x)", ErrInvalidELF, i, ph.flags)
		}
		segs = append(segs, segment{
			index: i, off: ph.off, vaddr: ph.vaddr, filesz: ph.filesz, memsz: ph.memsz,
			start: start, end: end, writable: ph.flags&pfW != 0,
		})
	}
	return segs, eEnd, nil
}

// zeroMemoryOnly zeroes the memory of PT_LOADs with p_filesz == 0 (.bss),
// which upstream skips because it relies on fresh memory being zero. They
// stay unchecked, as upstream, so anything we cannot zero safely — below
// 0x100000, where the monitor keeps page tables and boot info, or not
// inside mem — is left alone rather than rejected.
func (f *file) zeroMemoryOnly(mem *guestmem.Memory) {
	for i := range f.phnum() {
		ph := f.phdr(i)
		if ph.typ != ptLoad || ph.filesz != 0 || ph.memsz == 0 || ph.vaddr < minBase {
			continue
		}
		_ = mem.Zero(ph.vaddr, ph.memsz) // out of bounds: left alone, as upstream
	}
}
