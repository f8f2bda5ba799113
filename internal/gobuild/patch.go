package gobuild

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// BuildInfoSymbol is the bindings variable the patcher fills in. Its layout
// is shared with bindings/buildinfo.go: [magic, syscall table address,
// syscall count, image end, version, file tree address, file tree
// length]. In a test binary the bindings may carry their standard-library
// path instead (see test.go): stdBuildInfoSymbol.
const BuildInfoSymbol = "github.com/unimon/unimon/bindings.buildInfo"

const stdBuildInfoSymbol = stdBindingsPath + ".buildInfo"

// BuildInfoMagic marks an unpatched buildInfo; after patching the first
// word becomes BuildInfoPatched, so the guest can tell a binary that did
// not go through `unimon build` and refuse to run it.
const (
	BuildInfoMagic   = 0x756e696d6f6e3031 // "unimon01" (unpatched)
	BuildInfoPatched = 0x756e696d6f6e5031 // "unimonP1" (patched)
	buildInfoWords   = 7
)

// TextBase is the link address given to the Go linker (-T): the linker puts
// the ELF header page just below it, so the first PT_LOAD starts at
// guestabi.GuestMinBase.
const TextBase = guestabi.GuestMinBase + guestabi.PageSize

// ErrNoBindings is returned when the binary does not contain the bindings.
var ErrNoBindings = errors.New("binary does not import github.com/unimon/unimon/bindings")

// Result describes what Patch did.
type Result struct {
	// Syscalls holds the address of every SYSCALL turned into UD2, sorted.
	Syscalls []uint64
	// TableAddr is where the guest finds Syscalls (little-endian uint64s).
	TableAddr uint64
	// ImageEnd is the page-aligned end of the highest segment in memory.
	ImageEnd uint64
	// FilesAddr and FilesLen locate the file tree (PackFiles) in the
	// image; 0 when there is none.
	FilesAddr, FilesLen uint64
}

const (
	phdrSize = 56
	ptLoad   = 1
	ptNote   = 4
	ptPhdr   = 6
	pfR      = 4
	pageSize = guestabi.PageSize
)

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

// Patch turns a statically linked linux/amd64 Go executable that imports
// the bindings into a Solo5 hvt unikernel: every SYSCALL instruction of the
// text becomes UD2 (same two bytes, it traps from user mode where SYSCALL
// cannot here), the addresses go into a table the guest finds through the
// bindings' buildInfo variable, and the ABI1 and MFT1 notes (plus unimon's
// feature request and boot working set notes, which upstream ignores) are
// added as PT_NOTE segments. The Go linker leaves no room for more program headers,
// so the new program header table, the notes and the syscall table are
// appended to the file in one read-only PT_LOAD placed above every other
// segment.
func Patch(in []byte, m *guestabi.Manifest) ([]byte, *Result, error) {
	return PatchFiles(in, m, nil)
}

// PatchFiles is Patch that also puts files, a tree from PackFiles (or
// nil), in the new segment, where the bindings serve it as the root of
// the file system.
func PatchFiles(in []byte, m *guestabi.Manifest, files []byte) ([]byte, *Result, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(in))
	if err != nil {
		return nil, nil, fmt.Errorf("reading ELF: %w", err)
	}
	tgt, known := targetOf(f.Machine)
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || !known || f.Type != elf.ET_EXEC {
		return nil, nil, fmt.Errorf("not a static x86_64 or aarch64 ELF64 executable (class %v, machine %v, type %v)", f.Class, f.Machine, f.Type)
	}
	out := append([]byte(nil), in...)

	sites, err := tgt.patchSyscalls(f, out)
	if err != nil {
		return nil, nil, err
	}

	// The new segment goes above the highest segment, at a file offset
	// congruent to its address modulo the page size.
	var top uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			if p.Flags&elf.PF_W != 0 && p.Flags&elf.PF_X != 0 {
				return nil, nil, fmt.Errorf("segment at %#x is writable and executable", p.Vaddr)
			}
			top = max(top, p.Vaddr+p.Memsz)
		}
		if p.Type == elf.PT_TLS {
			return nil, nil, fmt.Errorf("binary has a PT_TLS segment, which Solo5 loaders do not support")
		}
	}
	segVaddr := alignUp(top, pageSize)
	segOff := alignUp(uint64(len(out)), pageSize)

	syms, _ := f.Symbols()
	static := staticWorkingSet(f, syms)
	oldPhnum := len(f.Progs)
	phnum := oldPhnum + 5
	abi := guestabi.EncodeNote(guestabi.NoteABI1, guestabi.ABIInfo{Target: guestabi.ABITargetHVT, Version: guestabi.ABIVersion}.Encode())
	mft := guestabi.EncodeNote(guestabi.NoteMFT1, m.Encode())
	// The bindings use a timer interrupt when the monitor offers one and
	// run cooperatively otherwise, so they always ask.
	fea := guestabi.EncodeFeatureNote(guestabi.RequestIRQChip)
	// The working set note's length depends only on how many ranges it
	// lists, so the image's end is known before the note is written.
	wksLen := uint64(len(guestabi.EncodeNote(guestabi.NoteWorkingSet, guestabi.EncodeWorkingSet(make([]guestabi.Range, len(static)+1)))))
	abiOff := uint64(phnum * phdrSize)
	mftOff := abiOff + uint64(len(abi))
	feaOff := mftOff + uint64(len(mft))
	wksOff := feaOff + uint64(len(fea))
	tabOff := wksOff + wksLen
	filesOff := alignUp(tabOff+uint64(8*len(sites)), 8)
	segSize := filesOff + uint64(len(files))
	imageEnd := alignUp(segVaddr+segSize, pageSize)
	wks, err := workingSetNote(static, imageEnd)
	if err != nil {
		return nil, nil, err
	}
	seg := make([]byte, segSize)
	copy(seg[filesOff:], files)

	le := binary.LittleEndian
	// Old program headers, with PT_PHDR moved to the new table.
	phoff := le.Uint64(in[32:])
	copy(seg, in[phoff:phoff+uint64(oldPhnum*phdrSize)])
	for i := 0; i < oldPhnum; i++ {
		ph := seg[i*phdrSize:]
		if le.Uint32(ph) == ptPhdr {
			le.PutUint64(ph[8:], segOff)
			le.PutUint64(ph[16:], segVaddr)
			le.PutUint64(ph[24:], segVaddr)
			le.PutUint64(ph[32:], uint64(phnum*phdrSize))
			le.PutUint64(ph[40:], uint64(phnum*phdrSize))
		}
	}
	putPhdr := func(i int, typ, flags uint32, off, vaddr, size, align uint64) {
		ph := seg[i*phdrSize:]
		le.PutUint32(ph[0:], typ)
		le.PutUint32(ph[4:], flags)
		le.PutUint64(ph[8:], off)
		le.PutUint64(ph[16:], vaddr)
		le.PutUint64(ph[24:], vaddr)
		le.PutUint64(ph[32:], size)
		le.PutUint64(ph[40:], size)
		le.PutUint64(ph[48:], align)
	}
	putPhdr(oldPhnum, ptLoad, pfR, segOff, segVaddr, segSize, pageSize)
	putPhdr(oldPhnum+1, ptNote, pfR, segOff+abiOff, segVaddr+abiOff, uint64(len(abi)), 4)
	putPhdr(oldPhnum+2, ptNote, pfR, segOff+mftOff, segVaddr+mftOff, uint64(len(mft)), 8)
	putPhdr(oldPhnum+3, ptNote, pfR, segOff+feaOff, segVaddr+feaOff, uint64(len(fea)), 4)
	putPhdr(oldPhnum+4, ptNote, pfR, segOff+wksOff, segVaddr+wksOff, wksLen, 8)
	copy(seg[abiOff:], abi)
	copy(seg[mftOff:], mft)
	copy(seg[feaOff:], fea)
	copy(seg[wksOff:], wks)
	for i, a := range sites {
		le.PutUint64(seg[tabOff+uint64(8*i):], a)
	}

	res := &Result{Syscalls: sites, TableAddr: segVaddr + tabOff, ImageEnd: imageEnd}
	if len(files) > 0 {
		res.FilesAddr, res.FilesLen = segVaddr+filesOff, uint64(len(files))
	}
	if err := patchBuildInfo(f, syms, out, res); err != nil {
		return nil, nil, err
	}

	out = append(out, make([]byte, segOff-uint64(len(out)))...)
	out = append(out, seg...)
	le.PutUint64(out[32:], segOff)
	le.PutUint16(out[56:], uint16(phnum))
	return out, res, nil
}

// patchSyscalls finds every SYSCALL of .text by decoding it function by
// function (see findSyscalls) and rewrites each into UD2 in out. A byte
// search would not do: 0f 05 also occurs inside immediates and
// displacements.
func patchSyscalls(f *elf.File, out []byte) ([]uint64, error) {
	text := f.Section(".text")
	if text == nil || text.Type != elf.SHT_PROGBITS {
		return nil, fmt.Errorf("no .text section")
	}
	if text.Offset > uint64(len(out)) || text.Size > uint64(len(out))-text.Offset {
		return nil, fmt.Errorf(".text (%d bytes at file offset %#x) runs past the end of the file", text.Size, text.Offset)
	}
	fns, err := textFuncs(f, text)
	if err != nil {
		return nil, err
	}
	code := out[text.Offset : text.Offset+text.Size]
	sites, err := findSyscalls(code, text.Addr, fns)
	if err != nil {
		return nil, err
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("no SYSCALL instruction found in .text: not a linux/amd64 Go binary?")
	}
	for _, a := range sites {
		code[a-text.Addr+1] = 0x0b // 0f 05 (SYSCALL) becomes 0f 0b (UD2)
	}
	return sites, nil
}

// patchBuildInfo fills the bindings' buildInfo variable in out.
func patchBuildInfo(f *elf.File, syms []elf.Symbol, out []byte, res *Result) error {
	for _, s := range syms {
		if s.Name != BuildInfoSymbol && s.Name != stdBuildInfoSymbol {
			continue
		}
		if s.Size != 8*buildInfoWords {
			return fmt.Errorf("%s has %d bytes, want %d: bindings and unimon build disagree", s.Name, s.Size, 8*buildInfoWords)
		}
		var sec *elf.Section
		for _, sc := range f.Sections {
			if sc.Type == elf.SHT_PROGBITS && s.Value >= sc.Addr && s.Value+s.Size <= sc.Addr+sc.Size {
				sec = sc
				break
			}
		}
		if sec == nil {
			return fmt.Errorf("%s at %#x is not in a file-backed section", s.Name, s.Value)
		}
		off := sec.Offset + (s.Value - sec.Addr)
		le := binary.LittleEndian
		if got := le.Uint64(out[off:]); got != BuildInfoMagic {
			return fmt.Errorf("%s starts with %#x, want %#x: already patched, or bindings from another unimon version", s.Name, got, uint64(BuildInfoMagic))
		}
		le.PutUint64(out[off:], BuildInfoPatched)
		le.PutUint64(out[off+8:], res.TableAddr)
		le.PutUint64(out[off+16:], uint64(len(res.Syscalls)))
		le.PutUint64(out[off+24:], res.ImageEnd)
		le.PutUint64(out[off+40:], res.FilesAddr)
		le.PutUint64(out[off+48:], res.FilesLen)
		return nil
	}
	return ErrNoBindings
}
