package gobuild

import (
	"cmp"
	"debug/elf"
	"fmt"
	"slices"

	"github.com/unimon/unimon/guestabi"
)

// The boot working set unimon build lists in its note
// (guestabi.NoteWorkingSet): the memory a Go unikernel writes as it boots,
// which the monitor has the host back while it creates the VM.
const (
	// heapWindow is how much memory above the image the note lists. The
	// bindings hand out frames from the image's end upward, and the Go
	// runtime's first heap pages, its stacks and the page tables mapping
	// them take the first of them as the program starts: the hello
	// example writes 124 of the first 244 pages there.
	heapWindow = 1 << 20

	// smallVarMax bounds the variables of the listed head of .bss and of
	// .noptrbss. The Go linker lays out each of them by size, smallest
	// first: the head is the runtime's and the bindings' scalars and
	// small tables, written as the program boots. From the first larger
	// variable on come the bindings' large tables (threads, sockets,
	// file descriptors, tmpfs nodes), written an entry at a time as the
	// program uses them, so listing them would only cost memory.
	smallVarMax = 16 << 10

	// maxHead bounds the head listed for a section, whatever the program.
	maxHead = 1 << 20

	// runtimeHeapSymbol is the Go runtime's heap descriptor: larger than
	// smallVarMax, but written (its central free lists) as the runtime
	// starts, so it is listed too.
	runtimeHeapSymbol = "runtime.mheap_"
)

// zeroFillSections are the sections whose head the note lists.
var zeroFillSections = []string{".bss", ".noptrbss"}

// staticWorkingSet returns the ranges of f's zero-fill sections that its
// Go program writes as it boots (see smallVarMax), page-aligned and merged.
func staticWorkingSet(f *elf.File, syms []elf.Symbol) []guestabi.Range {
	var ranges []guestabi.Range
	add := func(start, end uint64) {
		start &^= pageSize - 1
		if end = alignUp(end, pageSize); end > start {
			ranges = append(ranges, guestabi.Range{Start: start, Len: end - start})
		}
	}
	for _, name := range zeroFillSections {
		sec := f.Section(name)
		if sec == nil || sec.Type != elf.SHT_NOBITS || sec.Size == 0 {
			continue
		}
		headEnd := sec.Addr + sec.Size
		for _, s := range syms {
			if s.Size > smallVarMax && s.Value >= sec.Addr && s.Value < headEnd {
				headEnd = s.Value // the lowest large variable
			}
		}
		add(sec.Addr, min(headEnd, sec.Addr+maxHead))
	}
	for _, s := range syms {
		if s.Name == runtimeHeapSymbol && s.Size <= maxHead {
			add(s.Value, s.Value+s.Size)
		}
	}
	slices.SortFunc(ranges, func(a, b guestabi.Range) int { return cmp.Compare(a.Start, b.Start) })
	merged := ranges[:0]
	for _, r := range ranges {
		if k := len(merged); k > 0 && merged[k-1].End() >= r.Start {
			merged[k-1].Len = max(merged[k-1].End(), r.End()) - merged[k-1].Start
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// workingSetNote returns the note listing static and the heapWindow above
// imageEnd, checked by the rules a monitor reads it with.
func workingSetNote(static []guestabi.Range, imageEnd uint64) ([]byte, error) {
	payload := guestabi.EncodeWorkingSet(append(slices.Clone(static), guestabi.Range{Start: imageEnd, Len: heapWindow}))
	if _, err := guestabi.DecodeWorkingSet(payload); err != nil {
		return nil, fmt.Errorf("writing the boot working set: %w", err)
	}
	return guestabi.EncodeNote(guestabi.NoteWorkingSet, payload), nil
}
