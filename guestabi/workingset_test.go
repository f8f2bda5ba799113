package guestabi

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestWorkingSetNote(t *testing.T) {
	ranges := []Range{{Start: 0x2d0000, Len: 0x48000}, {Start: 0x5a0000, Len: 1 << 20}}
	note := EncodeNote(NoteWorkingSet, EncodeWorkingSet(ranges))
	p, ok, err := ReadNote(bytes.NewReader(note), 0, uint64(len(note)), NoteWorkingSet)
	if !ok || err != nil {
		t.Fatalf("ReadNote: ok=%v err=%v", ok, err)
	}
	if got, err := DecodeWorkingSet(p); err != nil || !slices.Equal(got, ranges) {
		t.Errorf("DecodeWorkingSet = %v, %v; want %v", got, err, ranges)
	}
	// Neither upstream's rules nor the feature request see it.
	for _, k := range []NoteKind{NoteABI1, NoteMFT1, NoteFeatures} {
		if _, ok, err := ReadNote(bytes.NewReader(note), 0, uint64(len(note)), k); ok || err != nil {
			t.Errorf("%s: working set note read as one: ok=%v err=%v", k.Name, ok, err)
		}
	}
}

func TestDecodeWorkingSetRejects(t *testing.T) {
	payload := func(rs ...Range) []byte { return EncodeWorkingSet(rs) }
	page := uint64(PageSize)
	nine := make([]Range, MaxWorkingSetRanges+1)
	for i := range nine {
		nine[i] = Range{Start: uint64(i) * 2 * page, Len: page}
	}
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"partial range", payload(Range{0x100000, page})[:15]},
		{"too many ranges", payload(nine...)},
		{"empty range", payload(Range{0x100000, 0})},
		{"unaligned start", payload(Range{0x100001, page})},
		{"unaligned length", payload(Range{0x100000, page + 1})},
		{"wraps", payload(Range{-page, 2 * page})},
		{"over the total", payload(Range{0, MaxWorkingSet}, Range{MaxWorkingSet, page})},
	} {
		if rs, err := DecodeWorkingSet(tc.payload); !errors.Is(err, ErrBadNote) {
			t.Errorf("%s: DecodeWorkingSet = %v, %v; want ErrBadNote", tc.name, rs, err)
		}
	}
	if rs, err := DecodeWorkingSet(payload(Range{0, MaxWorkingSet})); err != nil || len(rs) != 1 {
		t.Errorf("exactly MaxWorkingSet: %v, %v", rs, err)
	}
}

func FuzzDecodeWorkingSet(f *testing.F) {
	f.Add(EncodeWorkingSet([]Range{{Start: 0x5a0000, Len: 1 << 20}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := DecodeWorkingSet(b)
		if err != nil {
			return
		}
		var total uint64
		for _, r := range rs {
			if r.Len == 0 || r.End() < r.Start {
				t.Fatalf("accepted %+v", r)
			}
			total += r.Len
		}
		if total > MaxWorkingSet || len(rs) > MaxWorkingSetRanges {
			t.Fatalf("accepted %d ranges of %d bytes", len(rs), total)
		}
	})
}
