package guestabi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// Each struct is encoded with distinct field values and every field is
// found again at the offset the ABI document gives.
func TestHypercallLayouts(t *testing.T) {
	type field struct {
		off, size int
		want      uint64
	}
	type encoder interface{ Encode([]byte) }
	tests := []struct {
		name   string
		size   int
		v      encoder
		fields []field
	}{
		{"walltime", WalltimeSize, &Walltime{Nsecs: 0x1122334455667788}, []field{{0, 8, 0x1122334455667788}}},
		{"puts", PutsSize, &Puts{Data: 0xaaaa, Len: 0xbbbb}, []field{{0, 8, 0xaaaa}, {8, 8, 0xbbbb}}},
		{"poll", PollSize, &Poll{TimeoutNsecs: 1, ReadySet: 2, Ret: 3}, []field{{0, 8, 1}, {8, 8, 2}, {16, 4, 3}}},
		{"block", BlockIOSize, &BlockIO{Handle: 1, Offset: 2, Data: 3, Len: 4, Ret: 5}, []field{{0, 8, 1}, {8, 8, 2}, {16, 8, 3}, {24, 8, 4}, {32, 4, 5}}},
		{"net", NetIOSize, &NetIO{Handle: 1, Data: 2, Len: 3, Ret: 4}, []field{{0, 8, 1}, {8, 8, 2}, {16, 8, 3}, {24, 4, 4}}},
		{"halt", HaltSize, &Halt{Cookie: 7, ExitStatus: -1}, []field{{0, 8, 7}, {8, 4, 0xffffffff}}},
		{"bootinfo", BootInfoSize, &BootInfo{MemSize: 1, KernelEnd: 2, CPUCycleFreq: 3, Cmdline: 4, Manifest: 5, HostFeatures: 6, GuestFeatures: 7, NetRing: 8},
			[]field{{0, 8, 1}, {8, 8, 2}, {16, 8, 3}, {24, 8, 4}, {32, 8, 5}, {40, 4, 6}, {44, 4, 7}, {48, 8, 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, tt.size)
			tt.v.Encode(b)
			covered := 0
			for _, f := range tt.fields {
				var got uint64
				if f.size == 8 {
					got = binary.LittleEndian.Uint64(b[f.off:])
				} else {
					got = uint64(binary.LittleEndian.Uint32(b[f.off:]))
				}
				if got != f.want {
					t.Errorf("field @%d = %#x, want %#x", f.off, got, f.want)
				}
				covered = f.off + f.size
			}
			if covered > tt.size {
				t.Errorf("fields end at %d, beyond size %d", covered, tt.size)
			}
			// Decoding what was encoded gives the value back.
			back := make([]byte, tt.size)
			if d, ok := tt.v.(interface{ Decode([]byte) }); ok {
				d.Decode(b)
				tt.v.Encode(back)
				if !bytes.Equal(b, back) {
					t.Errorf("decode/encode round trip differs")
				}
			}
		})
	}
}

func TestConstantsMatchDocument(t *testing.T) {
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"PIOBase", PIOBase, 0x500},
		{"HALT port", PIOBase + uint64(HypercallHalt), 0x508},
		{"MMIOBase", MMIOBase, 0x100000000},
		{"ManifestAddr", ManifestAddr, 0x10038},
		{"BootInfoAddr", BootInfoAddr, 0x10000},
		{"GuestMinBase", GuestMinBase, 0x100000},
		{"MFT1 max", NoteMFT1.MaxSize, 6668},
		{"ABI1 max", NoteABI1.MaxSize, 32},
		{"ring size", RingCommitOff + RingEntries*RingCommitSize, RingSize},
		{"ring commit off", RingEntryOff + RingEntries*RingEntrySize, RingCommitOff},
		{"NoteTypeABI1", NoteTypeABI1, uint64(binary.LittleEndian.Uint32([]byte("ABI1")))},
		{"NoteTypeMFT1", NoteTypeMFT1, uint64(binary.LittleEndian.Uint32([]byte("MFT1")))},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if HypercallNetRead.String() != "NET_READ" || Hypercall(0).String() != "hypercall(0)" {
		t.Errorf("Hypercall.String is wrong")
	}
}

func TestManifestEntryLayout(t *testing.T) {
	m := NewManifest(
		Entry{Name: "storage", Type: DeviceBlockBasic, Capacity: 0x1000, BlockSize: 512, Attached: true},
		Entry{Name: "service0", Type: DeviceNetBasic, MAC: [6]byte{2, 1, 2, 3, 4, 5}, MTU: 1500, Private: 9},
	)
	b := m.Encode()
	if len(b) != 8+3*104 {
		t.Fatalf("size %d", len(b))
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != 1 || le.Uint32(b[4:]) != 3 {
		t.Fatalf("header %x", b[:8])
	}
	e0 := b[8:]
	if le.Uint32(e0[68:]) != 1<<30 || e0[0] != 0 {
		t.Errorf("entry 0 not reserved")
	}
	e1 := b[8+104:]
	if string(e1[:7]) != "storage" || e1[7] != 0 || le.Uint32(e1[68:]) != 1 ||
		le.Uint64(e1[72:]) != 0x1000 || le.Uint16(e1[80:]) != 512 || e1[96] != 1 {
		t.Errorf("block entry wrong: % x", e1[:104])
	}
	e2 := b[8+208:]
	if le.Uint32(e2[68:]) != 2 || !bytes.Equal(e2[72:78], []byte{2, 1, 2, 3, 4, 5}) ||
		le.Uint16(e2[78:]) != 1500 || le.Uint64(e2[88:]) != 9 || e2[96] != 0 {
		t.Errorf("net entry wrong: % x", e2[:104])
	}
	got, err := DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), b) {
		t.Errorf("round trip differs")
	}
	if got.Lookup("service0") != 2 || got.Lookup("nope") != -1 {
		t.Errorf("Lookup wrong")
	}
}

func TestDecodeManifestRejects(t *testing.T) {
	good := NewManifest(Entry{Name: "a", Type: DeviceNetBasic}).Encode()
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"short", good[:7]},
		{"version", mutate(func(b []byte) []byte { b[0] = 2; return b })},
		{"zero entries", mutate(func(b []byte) []byte { b[4] = 0; return b[:8] })},
		{"too many entries", mutate(func(b []byte) []byte { b[4] = 65; return b })},
		{"size mismatch", good[:len(good)-1]},
		{"unterminated name", mutate(func(b []byte) []byte { copy(b[8+104:], strings.Repeat("x", 68)); return b })},
	}
	for _, tt := range tests {
		if _, err := DecodeManifest(tt.b); !errors.Is(err, ErrInvalidManifest) {
			t.Errorf("%s: err = %v, want ErrInvalidManifest", tt.name, err)
		}
	}
	for name, m := range map[string]*Manifest{
		"no reserved": {Entries: []Entry{{Name: "x", Type: DeviceNetBasic}}},
		"attached":    NewManifest(Entry{Name: "x", Type: DeviceNetBasic, Attached: true}),
		"long name":   NewManifest(Entry{Name: strings.Repeat("n", 68), Type: DeviceNetBasic}),
		"duplicate name": NewManifest(Entry{Name: "storage", Type: DeviceBlockBasic}, Entry{Name: "n", Type: DeviceNetBasic},
			Entry{Name: "storage", Type: DeviceBlockBasic}),
		"duplicate name of two types": NewManifest(Entry{Name: "x", Type: DeviceBlockBasic}, Entry{Name: "x", Type: DeviceNetBasic}),
	} {
		if err := m.Validate(); !errors.Is(err, ErrInvalidManifest) {
			t.Errorf("Validate %s: err = %v", name, err)
		}
	}
}

func TestNotesRoundTrip(t *testing.T) {
	m := NewManifest(Entry{Name: "service0", Type: DeviceNetBasic})
	mft := EncodeNote(NoteMFT1, m.Encode())
	le := binary.LittleEndian
	if le.Uint32(mft[4:]) != 12+104*2 {
		t.Errorf("MFT1 n_descsz = %d, want %d", le.Uint32(mft[4:]), 12+104*2)
	}
	payload, ok, err := ReadNote(bytes.NewReader(mft), 0, uint64(len(mft)), NoteMFT1)
	if err != nil || !ok {
		t.Fatalf("ReadNote: ok=%v err=%v", ok, err)
	}
	if _, err := DecodeManifest(payload); err != nil {
		t.Fatal(err)
	}
	abi := EncodeNote(NoteABI1, ABIInfo{Target: ABITargetHVT, Version: ABIVersion}.Encode())
	want := []byte{6, 0, 0, 0, 16, 0, 0, 0, 'A', 'B', 'I', '1', 'S', 'o', 'l', 'o', '5', 0, 0, 0,
		1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(abi[:len(want)], want) {
		t.Errorf("ABI1 note\n got % x\nwant % x", abi, want)
	}
	// An ABI note is not a manifest note: skipped, no error.
	if _, ok, err := ReadNote(bytes.NewReader(abi), 0, uint64(len(abi)), NoteMFT1); ok || err != nil {
		t.Errorf("ABI note read as manifest: ok=%v err=%v", ok, err)
	}
	p, ok, err := ReadNote(bytes.NewReader(abi), 0, uint64(len(abi)), NoteABI1)
	if !ok || err != nil {
		t.Fatalf("ReadNote ABI: %v", err)
	}
	info, err := DecodeABIInfo(p)
	if err != nil || info.Check() != nil {
		t.Errorf("ABI info %+v: %v", info, err)
	}
}

func TestReadNoteRejects(t *testing.T) {
	abi := EncodeNote(NoteABI1, ABIInfo{Target: 1, Version: 2}.Encode())
	set := func(off int, v uint32) []byte {
		b := append([]byte(nil), abi...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	tests := []struct {
		name    string
		b       []byte
		filesz  uint64
		wantErr bool
	}{
		{"tiny segment", abi, 11, true},
		{"short segment is skipped", abi, 19, false},
		{"descsz zero", set(4, 0), uint64(len(abi)), true},
		{"descsz too big", set(4, 33), 64, true},
		{"descsz beyond segment", abi, 30, true},
		{"truncated file", abi[:25], uint64(len(abi)), true},
		{"other name", set(12, 0x41414141), uint64(len(abi)), false},
	}
	for _, tt := range tests {
		_, ok, err := ReadNote(bytes.NewReader(tt.b), 0, tt.filesz, NoteABI1)
		if (err != nil) != tt.wantErr || ok {
			t.Errorf("%s: ok=%v err=%v", tt.name, ok, err)
		}
	}
	// MFT1 whose n_descsz only covers the 4 pad bytes leaves no payload.
	mft := EncodeNote(NoteMFT1, nil)
	if _, _, err := ReadNote(bytes.NewReader(mft), 0, uint64(len(mft)), NoteMFT1); !errors.Is(err, ErrBadNote) {
		t.Errorf("empty manifest note: %v", err)
	}
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add(NewManifest(Entry{Name: "a", Type: DeviceNetBasic}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		_ = m.Validate()
		if got := m.Encode(); len(got) != len(b) {
			t.Fatalf("re-encoded %d bytes from %d", len(got), len(b))
		}
	})
}

func FuzzReadNote(f *testing.F) {
	f.Add(EncodeNote(NoteABI1, ABIInfo{Target: 1, Version: 2}.Encode()), uint64(36), false)
	f.Add(EncodeNote(NoteMFT1, NewManifest().Encode()), uint64(136), true)
	f.Fuzz(func(t *testing.T, b []byte, filesz uint64, mft bool) {
		k := NoteABI1
		if mft {
			k = NoteMFT1
		}
		p, ok, err := ReadNote(bytes.NewReader(b), 0, filesz, k)
		if ok && (err != nil || uint64(len(p)) > k.MaxSize) {
			t.Fatalf("ok with err=%v len=%d", err, len(p))
		}
	})
}
