package microguest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
)

// solo5File is what checkSolo5 found in an executable.
type solo5File struct {
	f        *elf.File
	abi      *guestabi.ABIInfo  // nil without an ABI1 note
	manifest *guestabi.Manifest // nil without an MFT1 note
	loads    []elf.ProgHeader   // the PT_LOADs upstream processes (p_filesz != 0)
}

// checkSolo5 applies upstream solo5-hvt's rules (elf_load and
// elf_load_note in tenders/common/elf.c, as the ABI document describes
// them) to an executable loaded into memSize bytes of guest memory, plus
// the ELF conventions other tools rely on: segments inside the file, file
// offsets congruent to addresses, and every PT_NOTE inside a read-only
// PT_LOAD.
func checkSolo5(b []byte, memSize uint64) (*solo5File, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("debug/elf: %w", err)
	}
	// Header (§3.1). debug/elf does not expose e_ehsize, e_phentsize or
	// e_shnum, so read them raw.
	le := binary.LittleEndian
	switch {
	case f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Version != elf.EV_CURRENT:
		return nil, fmt.Errorf("ident: class %v data %v version %v", f.Class, f.Data, f.Version)
	case le.Uint32(b[20:]) != uint32(elf.EV_CURRENT):
		return nil, fmt.Errorf("e_version %d", le.Uint32(b[20:]))
	case f.Type != elf.ET_EXEC:
		return nil, fmt.Errorf("e_type %v", f.Type)
	case le.Uint16(b[52:]) != 64 || le.Uint16(b[54:]) != 56:
		return nil, fmt.Errorf("e_ehsize %d e_phentsize %d", le.Uint16(b[52:]), le.Uint16(b[54:]))
	case len(f.Progs) < 1 || int(le.Uint16(b[56:])) != len(f.Progs):
		return nil, fmt.Errorf("e_phnum %d", le.Uint16(b[56:]))
	case le.Uint16(b[60:]) != 0:
		return nil, fmt.Errorf("e_shnum %d, want no section headers", le.Uint16(b[60:]))
	case f.Entry < guestabi.GuestMinBase || f.Entry >= memSize:
		return nil, fmt.Errorf("e_entry %#x outside [%#x, %#x)", f.Entry, guestabi.GuestMinBase, memSize)
	}

	// Segments (§3.2), in the order and with the arithmetic upstream uses.
	s := &solo5File{f: f}
	var prevVaddr, eEnd uint64
	entryInText := false
	for i, p := range f.Progs {
		if p.Off+p.Filesz > uint64(len(b)) || p.Off+p.Filesz < p.Off {
			return nil, fmt.Errorf("phdr %d: [%#x, +%#x) past the end of the %d-byte file", i, p.Off, p.Filesz, len(b))
		}
		if p.Type != elf.PT_LOAD || p.Filesz == 0 {
			continue
		}
		a := p.Align
		switch {
		case p.Vaddr < guestabi.GuestMinBase:
			return nil, fmt.Errorf("phdr %d: p_vaddr %#x below %#x", i, p.Vaddr, guestabi.GuestMinBase)
		case p.Vaddr < prevVaddr:
			return nil, fmt.Errorf("phdr %d: p_vaddr %#x below the previous segment's %#x", i, p.Vaddr, prevVaddr)
		case a == 0 || a&(a-1) != 0:
			return nil, fmt.Errorf("phdr %d: p_align %#x is not a power of two", i, a)
		}
		start := p.Vaddr &^ (a - 1)
		end := (p.Vaddr + p.Memsz + a - 1) &^ (a - 1)
		switch {
		case start < guestabi.GuestMinBase:
			return nil, fmt.Errorf("phdr %d: aligned start %#x below %#x", i, start, guestabi.GuestMinBase)
		case start < eEnd:
			return nil, fmt.Errorf("phdr %d: aligned start %#x overlaps the previous end %#x", i, start, eEnd)
		case p.Vaddr >= memSize || p.Vaddr+p.Filesz > memSize:
			return nil, fmt.Errorf("phdr %d: file part [%#x, +%#x) outside memory", i, p.Vaddr, p.Filesz)
		case p.Memsz < p.Filesz:
			return nil, fmt.Errorf("phdr %d: p_memsz %#x < p_filesz %#x", i, p.Memsz, p.Filesz)
		case end < p.Vaddr || end > memSize:
			return nil, fmt.Errorf("phdr %d: aligned end %#x outside memory", i, end)
		case start%guestabi.PageSize != 0 || end%guestabi.PageSize != 0:
			return nil, fmt.Errorf("phdr %d: [%#x, %#x) not 4 KiB aligned", i, start, end)
		case p.Flags&elf.PF_W != 0 && p.Flags&elf.PF_X != 0:
			return nil, fmt.Errorf("phdr %d: requests WRITE and EXEC permissions", i)
		case p.Off%a != p.Vaddr%a:
			return nil, fmt.Errorf("phdr %d: p_offset %#x not congruent to p_vaddr %#x mod %#x", i, p.Off, p.Vaddr, a)
		}
		prevVaddr, eEnd = p.Vaddr, max(eEnd, end)
		if f.Entry >= p.Vaddr && f.Entry < p.Vaddr+p.Filesz && p.Flags&elf.PF_X != 0 {
			entryInText = true
		}
		s.loads = append(s.loads, p.ProgHeader)
	}
	if !entryInText {
		return nil, fmt.Errorf("e_entry %#x is not in an executable segment", f.Entry)
	}

	// Notes (§2.3): each PT_NOTE is examined for each kind; only its first
	// note counts.
	r := bytes.NewReader(b)
	for i, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		inRO := false
		for _, l := range s.loads {
			if l.Flags == elf.PF_R && p.Vaddr >= l.Vaddr && p.Vaddr+p.Filesz <= l.Vaddr+l.Filesz && p.Off-l.Off == p.Vaddr-l.Vaddr {
				inRO = true
			}
		}
		if !inRO {
			return nil, fmt.Errorf("PT_NOTE %d at %#x is not inside a read-only PT_LOAD", i, p.Vaddr)
		}
		for _, k := range []guestabi.NoteKind{guestabi.NoteABI1, guestabi.NoteMFT1} {
			payload, ok, err := guestabi.ReadNote(r, p.Off, p.Filesz, k)
			if err != nil {
				return nil, fmt.Errorf("PT_NOTE %d: %w", i, err)
			}
			if !ok {
				continue
			}
			if k.Type == guestabi.NoteTypeABI1 {
				if s.abi != nil {
					return nil, fmt.Errorf("PT_NOTE %d: a second ABI1 note", i)
				}
				abi, err := guestabi.DecodeABIInfo(payload)
				if err != nil {
					return nil, err
				}
				s.abi = &abi
				continue
			}
			if s.manifest != nil {
				return nil, fmt.Errorf("PT_NOTE %d: a second MFT1 note", i)
			}
			// The MFT1 note's struct mft must be 8-byte aligned in memory
			// for the guest to read it.
			if (p.Vaddr+24)%8 != 0 {
				return nil, fmt.Errorf("PT_NOTE %d: struct mft at %#x is not 8-byte aligned", i, p.Vaddr+24)
			}
			m, err := guestabi.DecodeManifest(payload)
			if err != nil {
				return nil, err
			}
			if err := m.Validate(); err != nil {
				return nil, err
			}
			s.manifest = m
		}
	}
	return s, nil
}

const testMem = 2 << 20 // the smallest guest memory there is

func TestELFMinimal(t *testing.T) {
	b := ELF(Guest{Text: []byte{0xf4}})
	s, err := checkSolo5(b, testMem)
	if err != nil {
		t.Fatal(err)
	}
	f := s.f
	if f.Machine != elf.EM_X86_64 || f.Entry != TextAddr || f.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("machine %v entry %#x osabi %v", f.Machine, f.Entry, f.OSABI)
	}
	want := []elf.ProgHeader{
		{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x1000, Vaddr: 0x100000, Paddr: 0x100000, Filesz: 1, Memsz: 1, Align: 0x1000},
		{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0x2000, Vaddr: 0x101000, Paddr: 0x101000, Filesz: 40 + 32 + 104, Memsz: 40 + 32 + 104, Align: 0x1000},
		{Type: elf.PT_NOTE, Flags: elf.PF_R, Off: 0x2000, Vaddr: 0x101000, Paddr: 0x101000, Filesz: 36, Memsz: 36, Align: 4},
		{Type: elf.PT_NOTE, Flags: elf.PF_R, Off: 0x2028, Vaddr: 0x101028, Paddr: 0x101028, Filesz: 32 + 104, Memsz: 32 + 104, Align: 4},
	}
	var got []elf.ProgHeader
	for _, p := range f.Progs {
		got = append(got, p.ProgHeader)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("program headers:\ngot  %+v\nwant %+v", got, want)
	}
	if *s.abi != (guestabi.ABIInfo{Target: 1, Version: 2}) {
		t.Errorf("ABI note %+v", *s.abi)
	}
	if !reflect.DeepEqual(s.manifest, guestabi.NewManifest()) {
		t.Errorf("manifest %+v, want only the reserved entry", s.manifest)
	}
	if len(b) != 0x2000+40+32+104 {
		t.Errorf("file is %d bytes, want it to end with the notes", len(b))
	}
	// The bytes upstream's test_hello carries in its ABI1 note.
	if got := hex.EncodeToString(b[0x2000+20 : 0x2000+36]); got != "01000000020000000000000000000000" {
		t.Errorf("ABI1 descriptor %s", got)
	}
}

func TestELFFull(t *testing.T) {
	text := bytes.Repeat([]byte{0x90}, 5000) // more than a page
	text = append(text, 0xf4)
	mft := guestabi.NewManifest(
		guestabi.Entry{Name: "disk", Type: guestabi.DeviceBlockBasic},
		guestabi.Entry{Name: "net0", Type: guestabi.DeviceNetBasic},
	)
	g := Guest{Text: text, Data: []byte("data!"), BSS: 10000, Entry: 5000, Manifest: mft}
	b := ELF(g)
	s, err := checkSolo5(b, testMem)
	if err != nil {
		t.Fatal(err)
	}
	l := GuestLayout(g)
	if l != (Layout{Text: 0x100000, Notes: 0x102000, Data: 0x103000}) {
		t.Errorf("layout %+v", l)
	}
	if s.f.Entry != 0x100000+5000 {
		t.Errorf("entry %#x", s.f.Entry)
	}
	if len(s.loads) != 3 {
		t.Fatalf("%d loaded segments, want 3", len(s.loads))
	}
	d := s.loads[2]
	if d.Vaddr != l.Data || d.Flags != elf.PF_R|elf.PF_W || d.Filesz != 5 || d.Memsz != 10005 {
		t.Errorf("data segment %+v", d)
	}
	if got := string(b[d.Off : d.Off+d.Filesz]); got != "data!" {
		t.Errorf("data %q", got)
	}
	if n := s.loads[1]; n.Vaddr != l.Notes || n.Flags != elf.PF_R {
		t.Errorf("notes segment %+v", n)
	}
	if !bytes.Equal(b[s.loads[0].Off:][:len(text)], text) {
		t.Error("text not in the file at its segment's offset")
	}
	if !reflect.DeepEqual(s.manifest, mft) {
		t.Errorf("manifest\ngot  %+v\nwant %+v", s.manifest, mft)
	}
}

func TestELFVariants(t *testing.T) {
	tests := []struct {
		name        string
		g           Guest
		notes, load int // PT_NOTE and processed PT_LOAD counts
		abi, mft    bool
		check       func(t *testing.T, s *solo5File)
	}{
		{name: "aarch64", g: Guest{Machine: elf.EM_AARCH64, Text: []byte{0, 0, 0, 0}}, notes: 2, load: 2, abi: true, mft: true,
			check: func(t *testing.T, s *solo5File) {
				if s.f.Machine != elf.EM_AARCH64 {
					t.Errorf("machine %v", s.f.Machine)
				}
			}},
		{name: "old ABI", g: Guest{Text: []byte{0xf4}, ABI: guestabi.ABIInfo{Target: 1, Version: 1}}, notes: 2, load: 2, abi: true, mft: true,
			check: func(t *testing.T, s *solo5File) {
				if err := s.abi.Check(); err == nil || !strings.Contains(err.Error(), "unsupported ABI version 1") {
					t.Errorf("ABI %+v: Check gives %v", *s.abi, err)
				}
			}},
		{name: "no ABI note", g: Guest{Text: []byte{0xf4}, OmitABINote: true}, notes: 1, load: 2, mft: true},
		{name: "no manifest note", g: Guest{Text: []byte{0xf4}, OmitManifestNote: true}, notes: 1, load: 2, abi: true},
		{name: "no notes", g: Guest{Text: []byte{0xf4}, OmitABINote: true, OmitManifestNote: true}, notes: 0, load: 1,
			check: func(t *testing.T, s *solo5File) {
				if len(s.f.Progs) != 1 {
					t.Errorf("%d program headers, want only the text", len(s.f.Progs))
				}
			}},
		{name: "BSS only", g: Guest{Text: []byte{0xf4}, BSS: 100}, notes: 2, load: 2, abi: true, mft: true,
			check: func(t *testing.T, s *solo5File) {
				p := s.f.Progs[2]
				if p.Type != elf.PT_LOAD || p.Filesz != 0 || p.Memsz != 100 || p.Vaddr != 0x102000 || p.Flags != elf.PF_R|elf.PF_W {
					t.Errorf("BSS segment %+v", p.ProgHeader)
				}
			}},
		{name: "data address", g: Guest{Text: []byte{0xf4}, Data: []byte{1}, DataAddr: 0x200000}, notes: 2, load: 3, abi: true, mft: true,
			check: func(t *testing.T, s *solo5File) {
				if s.loads[2].Vaddr != 0x200000 || s.loads[2].Off%0x1000 != 0 {
					t.Errorf("data segment %+v", s.loads[2])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := checkSolo5(ELF(tt.g), 4<<20)
			if err != nil {
				t.Fatal(err)
			}
			notes := 0
			for _, p := range s.f.Progs {
				if p.Type == elf.PT_NOTE {
					notes++
				}
			}
			if notes != tt.notes || len(s.loads) != tt.load || (s.abi != nil) != tt.abi || (s.manifest != nil) != tt.mft {
				t.Errorf("%d PT_NOTE, %d PT_LOAD, ABI %v, manifest %v; want %d, %d, %v, %v",
					notes, len(s.loads), s.abi != nil, s.manifest != nil, tt.notes, tt.load, tt.abi, tt.mft)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestELFBadDataAddr(t *testing.T) {
	for _, addr := range []uint64{0x200800, 0x101000, 0x100000} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "DataAddr") {
					t.Errorf("DataAddr %#x: recovered %v, want a panic about DataAddr", addr, r)
				}
			}()
			ELF(Guest{Text: []byte{0xf4}, Data: []byte{1}, DataAddr: addr})
		}()
	}
}

// The checker itself must reject what upstream rejects, or passing it
// proves nothing.
func TestCheckerRejects(t *testing.T) {
	good := ELF(Guest{Text: []byte{0xf4}, Data: []byte{1}})
	le := binary.LittleEndian
	ph := func(i int) int { return 64 + 56*i }
	tests := []struct {
		name   string
		mutate func(b []byte)
		msg    string
	}{
		{"W+X", func(b []byte) { le.PutUint32(b[ph(2)+4:], uint32(elf.PF_R|elf.PF_W|elf.PF_X)) }, "WRITE and EXEC"},
		{"p_align 0", func(b []byte) { le.PutUint64(b[ph(0)+48:], 0) }, "power of two"},
		{"descending", func(b []byte) { le.PutUint64(b[ph(2)+16:], 0x100000) }, "previous"},
		{"below base", func(b []byte) { le.PutUint64(b[ph(0)+16:], 0xff000) }, "below"},
		{"entry", func(b []byte) { le.PutUint64(b[24:], 0x100) }, "e_entry"},
		{"phentsize", func(b []byte) { le.PutUint16(b[54:], 64) }, "e_phentsize"},
		{"bad MFT1", func(b []byte) { le.PutUint32(b[0x2028+4:], 3) }, "does not fall within valid size"},
		{"past memory", func(b []byte) { le.PutUint64(b[ph(2)+40:], testMem) }, "outside memory"},
	}
	for _, tt := range tests {
		b := bytes.Clone(good)
		tt.mutate(b)
		if _, err := checkSolo5(b, testMem); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.msg)
		}
	}
	if _, err := checkSolo5(good, testMem); err != nil {
		t.Errorf("unmodified: %v", err)
	}
}
