package gobuild

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/arch/x86/x86asm"

	"github.com/unimon/unimon/guestabi"
)

// BuildInfoSymbol is the bindings variable the patcher fills in. Its layout
// is shared with bindings/buildinfo.go: [magic, syscall table address,
// syscall count, image end, version].
const BuildInfoSymbol = "github.com/unimon/unimon/bindings.buildInfo"

// BuildInfoMagic marks an unpatched buildInfo; after patching the first
// word becomes BuildInfoPatched, so the guest can tell a binary that did
// not go through `unimon build` and refuse to run it.
const (
	BuildInfoMagic   = 0x756e696d6f6e3031 // "unimon01" (unpatched)
	BuildInfoPatched = 0x756e696d6f6e5031 // "unimonP1" (patched)
	buildInfoWords   = 5
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
// feature request note, which upstream ignores) are added as PT_NOTE
// segments. The Go linker leaves no room for more program headers,
// so the new program header table, the notes and the syscall table are
// appended to the file in one read-only PT_LOAD placed above every other
// segment.
func Patch(in []byte, m *guestabi.Manifest) ([]byte, *Result, error) {
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

	oldPhnum := len(f.Progs)
	phnum := oldPhnum + 4
	abi := guestabi.EncodeNote(guestabi.NoteABI1, guestabi.ABIInfo{Target: guestabi.ABITargetHVT, Version: guestabi.ABIVersion}.Encode())
	mft := guestabi.EncodeNote(guestabi.NoteMFT1, m.Encode())
	// The bindings use a timer interrupt when the monitor offers one and
	// run cooperatively otherwise, so they always ask.
	fea := guestabi.EncodeFeatureNote(guestabi.RequestIRQChip)
	abiOff := uint64(phnum * phdrSize)
	mftOff := abiOff + uint64(len(abi))
	feaOff := mftOff + uint64(len(mft))
	tabOff := feaOff + uint64(len(fea))
	segSize := tabOff + uint64(8*len(sites))
	seg := make([]byte, segSize)

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
	copy(seg[abiOff:], abi)
	copy(seg[mftOff:], mft)
	copy(seg[feaOff:], fea)
	for i, a := range sites {
		le.PutUint64(seg[tabOff+uint64(8*i):], a)
	}

	res := &Result{Syscalls: sites, TableAddr: segVaddr + tabOff, ImageEnd: alignUp(segVaddr+segSize, pageSize)}
	if err := patchBuildInfo(f, out, res); err != nil {
		return nil, nil, err
	}

	out = append(out, make([]byte, segOff-uint64(len(out)))...)
	out = append(out, seg...)
	le.PutUint64(out[32:], segOff)
	le.PutUint16(out[56:], uint16(phnum))
	return out, res, nil
}

// patchSyscalls decodes every function of .text with a real x86 decoder
// and rewrites each SYSCALL into UD2 in out. Decoding function by function
// (from the symbol table) keeps the decoder in step with instruction
// boundaries: a byte search would also hit 0f 05 inside immediates and
// displacements.
func patchSyscalls(f *elf.File, out []byte) ([]uint64, error) {
	text := f.Section(".text")
	if text == nil {
		return nil, fmt.Errorf("no .text section")
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("reading symbols (was the binary stripped?): %w", err)
	}
	type fn struct {
		name       string
		start, end uint64
	}
	var fns []fn
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value >= text.Addr && s.Value < text.Addr+text.Size {
			fns = append(fns, fn{s.Name, s.Value, s.Value + s.Size})
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].start < fns[j].start })
	textEnd := text.Addr + text.Size
	var sites []uint64
	for i, fn := range fns {
		end := fn.end
		if i+1 < len(fns) && (end <= fn.start || end > fns[i+1].start) {
			end = fns[i+1].start
		}
		if end <= fn.start || end > textEnd {
			end = textEnd
		}
		base := text.Offset + (fn.start - text.Addr)
		code := out[base : base+(end-fn.start)]
		for pc := 0; pc < len(code); {
			// In 64-bit mode C4, C5 and 62 always start VEX or EVEX
			// instructions, which x86asm does not know (it would take
			// them for LES/LDS/BOUND and lose the instruction boundary).
			if n := vexLen(code[pc:]); n > 0 {
				pc += n
				continue
			}
			inst, err := x86asm.Decode(code[pc:], 64)
			if err != nil {
				if n := gapLen(code[pc:]); n > 0 {
					pc += n
					continue
				}
				return nil, fmt.Errorf("cannot decode instruction at %#x in %s (% x): %v", fn.start+uint64(pc), fn.name, code[pc:min(pc+8, len(code))], err)
			}
			if inst.Op == x86asm.SYSCALL {
				if code[pc] != 0x0f || code[pc+1] != 0x05 || inst.Len != 2 {
					return nil, fmt.Errorf("SYSCALL at %#x in %s has an unexpected encoding % x", fn.start+uint64(pc), fn.name, code[pc:pc+inst.Len])
				}
				code[pc+1] = 0x0b // 0f 0b: UD2
				sites = append(sites, fn.start+uint64(pc))
			}
			pc += inst.Len
		}
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("no SYSCALL instruction found in .text: not a linux/amd64 Go binary?")
	}
	return sites, nil
}

// vexLen returns the length of a VEX- or EVEX-encoded instruction at the
// start of b, which x86asm does not decode (the Go runtime and crypto
// packages carry AVX2 and AVX-512 code), or 0 if b does not start with one.
// Only the length matters here: such instructions are never SYSCALL.
func vexLen(b []byte) int {
	i := 0
	// Legacy prefixes that may precede VEX (address size, segment).
	for i < len(b) && (b[i] == 0x67 || b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x36) {
		i++
	}
	if i >= len(b) {
		return 0
	}
	var mmmmm byte
	switch b[i] {
	case 0xc5: // 2-byte VEX: map 0F
		if i+2 >= len(b) {
			return 0
		}
		mmmmm = 1
		i += 2
	case 0xc4: // 3-byte VEX
		if i+3 >= len(b) {
			return 0
		}
		mmmmm = b[i+1] & 0x1f
		i += 3
	case 0x62: // EVEX (invalid as BOUND in 64-bit mode)
		if i+4 >= len(b) {
			return 0
		}
		mmmmm = b[i+1] & 0x07
		i += 4
	default:
		return 0
	}
	if i >= len(b) {
		return 0
	}
	op := b[i]
	i++
	if mmmmm == 1 && op == 0x77 && b[0] != 0x62 { // VZEROUPPER, VZEROALL: no ModRM
		return i
	}
	n, ok := modrmLen(b[i:])
	if !ok {
		return 0
	}
	i += n
	// Immediates: map 0F3A always has imm8; map 0F has a few.
	switch mmmmm {
	case 3:
		i++
	case 1:
		switch op {
		case 0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6:
			i++
		}
	case 2, 5, 6:
	default:
		return 0
	}
	if i > len(b) {
		return 0
	}
	return i
}

// gapLen covers register forms x86asm does not know: 0F C7 /6 and /7
// with a register operand (RDRAND, RDSEED, RDPID), which the bindings and
// crypto code use.
func gapLen(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == 0x66 || b[i] == 0xf3 || b[i]&0xf0 == 0x40) {
		i++
	}
	if i+2 < len(b) && b[i] == 0x0f && b[i+1] == 0xc7 && b[i+2]>>6 == 3 && (b[i+2]>>3)&7 >= 6 {
		return i + 3
	}
	return 0
}

// modrmLen is the length of a ModRM byte with its SIB and displacement.
func modrmLen(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	modrm := b[0]
	mod, rm := modrm>>6, modrm&7
	n := 1
	if mod == 3 {
		return n, true
	}
	if rm == 4 {
		if len(b) < 2 {
			return 0, false
		}
		sib := b[1]
		n++
		if mod == 0 && sib&7 == 5 {
			n += 4
		}
	}
	switch {
	case mod == 0 && rm == 5:
		n += 4
	case mod == 1:
		n++
	case mod == 2:
		n += 4
	}
	return n, true
}

// patchBuildInfo fills the bindings' buildInfo variable in out.
func patchBuildInfo(f *elf.File, out []byte, res *Result) error {
	syms, _ := f.Symbols()
	for _, s := range syms {
		if s.Name != BuildInfoSymbol {
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
		return nil
	}
	return ErrNoBindings
}
