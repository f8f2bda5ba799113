package elfload

import (
	"bytes"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// fuzzSeeds are a valid image and a few near-misses, so the fuzzer starts
// from files that get deep into the rules.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{validELF().encode()}
	for _, edit := range []func(e *testELF){
		func(e *testELF) { e.phdrs[phText].flags = pfR | pfW | pfX },
		func(e *testELF) { e.phdrs[phRodata].align = 0 },
		func(e *testELF) { e.phdrs[phData].memsz = 8 },
		func(e *testELF) { e.phdrs[phBSS].vaddr, e.phdrs[phBSS].memsz = 0x100000, 0x10000 },
		func(e *testELF) { e.phdrs[phNoteABI].data = abiNote(1, 1) },
		func(e *testELF) { e.phdrs[phNoteABI].data = append(abiNote(1, 2), mftNote(testManifest())...) },
		func(e *testELF) { e.phdrs = e.phdrs[:2] },
		func(e *testELF) {
			e.phdrs[phNoteABI].data = guestabi.EncodeNote(guestabi.NoteWorkingSet,
				guestabi.EncodeWorkingSet([]guestabi.Range{{Start: 0x200000, Len: guestabi.PageSize}}))
		},
	} {
		e := validELF()
		edit(e)
		seeds = append(seeds, e.encode())
	}
	b := validELF().encode()
	seeds = append(seeds, b[:len(b)/2], b[:ehdrSize])
	return seeds
}

func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, err := guestmem.New(testMemSize)
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		img, err := Load(bytes.NewReader(data), MachineX86_64, mem)
		checked, checkErr := Check(bytes.NewReader(data), MachineX86_64, testMemSize)
		if (err == nil) != (checkErr == nil) || checked != img {
			t.Fatalf("Load and Check disagree: Load %+v, %v; Check %+v, %v", img, err, checked, checkErr)
		}
		if err != nil {
			return
		}
		if img.Entry < guestabi.GuestMinBase || img.Entry >= mem.Size() {
			t.Fatalf("loaded with entry %#x outside [%#x, %#x)", img.Entry, guestabi.GuestMinBase, mem.Size())
		}
		if img.KernelEnd > mem.Size() || img.KernelEnd%guestabi.PageSize != 0 {
			t.Fatalf("loaded with kernel end %#x", img.KernelEnd)
		}
	})
}

func FuzzNotes(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if pf, err := Parse(bytes.NewReader(data), MachineX86_64); err == nil {
			if ranges, err := pf.WorkingSet(); err == nil && len(ranges) > guestabi.MaxWorkingSetRanges {
				t.Fatalf("accepted a working set of %d ranges", len(ranges))
			}
		}
		abi, mft, err := Notes(bytes.NewReader(data), MachineX86_64)
		if err != nil {
			return
		}
		if err := abi.Check(); err != nil {
			t.Fatalf("accepted ABI %+v: %v", abi, err)
		}
		if err := mft.Validate(); err != nil {
			t.Fatalf("accepted manifest: %v", err)
		}
	})
}
