package x86_64

import (
	"encoding/binary"
	"testing"

	"github.com/unimon/unimon/monitor/guestmem"
)

// FuzzTranslate walks page tables made of arbitrary bytes: the walk
// never panics, ends, and never yields an address outside memory.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{0x07, 0x10}, uint64(0), uint64(0x1000))
	f.Add(binary.LittleEndian.AppendUint64(nil, 0x87), uint64(0), uint64(0x123456))
	mem, err := guestmem.New(guestmem.Granule)
	if err != nil {
		f.Fatal(err)
	}
	defer mem.Close()
	tables, err := mem.Writable(0, 0x4000)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, cr3, va uint64) {
		clear(tables)
		copy(tables, data)
		pa, _, err := Translate(mem, cr3, va)
		if err == nil && pa >= mem.Size() {
			t.Fatalf("Translate(cr3 %#x, va %#x) = %#x, outside memory", cr3, va, pa)
		}
	})
}
