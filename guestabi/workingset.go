package guestabi

import (
	"fmt"
	"math/bits"
)

// Unimon's boot working set note: a unikernel lists the guest-physical
// ranges it writes as it boots, and the monitor may have the host back
// them with memory before the guest starts. The guest then takes no page
// fault to have them backed, and a fault costs a guest (above all a
// nested or shadow-paged one) many times what populating the page costs
// the host. Nothing the guest can see changes: the memory reads as zero
// either way, no HostFeatures bit answers the note, and upstream
// solo5-hvt, which skips notes it does not own, runs the unikernel the
// same. Every page listed stays resident, so a unikernel lists only what
// it is known to write.
const (
	// NoteTypeWorkingSet ("WKS1") types the boot working set note, owned
	// by FeatureNoteName. Its payload is 1 to MaxWorkingSetRanges ranges,
	// each two little-endian uint64s: start and length.
	NoteTypeWorkingSet = 0x31534b57

	// MaxWorkingSetRanges is the most ranges the note may list.
	MaxWorkingSetRanges = 8

	// MaxWorkingSet bounds the ranges' total length: a note cannot make
	// the monitor populate more than this.
	MaxWorkingSet = 16 << 20

	workingSetRangeSize = 16
)

// NoteWorkingSet is the boot working set note, found like the Solo5 notes:
// the first note of a PT_NOTE segment.
var NoteWorkingSet = NoteKind{Name: "boot working set", Owner: FeatureNoteName, Type: NoteTypeWorkingSet, Align: 8,
	MaxSize: MaxWorkingSetRanges * workingSetRangeSize}

// Range is the guest-physical range [Start, Start+Len).
type Range struct {
	Start, Len uint64
}

// End is the first address past r.
func (r Range) End() uint64 { return r.Start + r.Len }

// EncodeWorkingSet returns the payload of a boot working set note listing
// ranges, which must satisfy DecodeWorkingSet's rules. The note is
// EncodeNote(NoteWorkingSet, payload).
func EncodeWorkingSet(ranges []Range) []byte {
	p := make([]byte, 0, len(ranges)*workingSetRangeSize)
	for _, r := range ranges {
		p = le.AppendUint64(p, r.Start)
		p = le.AppendUint64(p, r.Len)
	}
	return p
}

// DecodeWorkingSet parses a boot working set note's payload: 1 to
// MaxWorkingSetRanges ranges, each non-empty, PageSize-aligned and
// not wrapping around, MaxWorkingSet bytes at most in all. Whether a range
// lies inside guest memory depends on the memory a run is given, so that
// is the monitor's check, not the note's.
func DecodeWorkingSet(payload []byte) ([]Range, error) {
	n := len(payload) / workingSetRangeSize
	if len(payload)%workingSetRangeSize != 0 || n == 0 || n > MaxWorkingSetRanges {
		return nil, fmt.Errorf("%w: boot working set payload is %d bytes, want 1 to %d ranges of %d", ErrBadNote,
			len(payload), MaxWorkingSetRanges, workingSetRangeSize)
	}
	ranges := make([]Range, n)
	var total uint64
	for i := range ranges {
		r := Range{Start: le.Uint64(payload[i*workingSetRangeSize:]), Len: le.Uint64(payload[i*workingSetRangeSize+8:])}
		if r.Len == 0 || r.Start%PageSize != 0 || r.Len%PageSize != 0 {
			return nil, fmt.Errorf("%w: boot working set range %d (start %#x, length %#x) is empty or not %d-byte aligned",
				ErrBadNote, i, r.Start, r.Len, PageSize)
		}
		if _, carry := bits.Add64(r.Start, r.Len, 0); carry != 0 {
			return nil, fmt.Errorf("%w: boot working set range %d (start %#x, length %#x) wraps around", ErrBadNote, i, r.Start, r.Len)
		}
		if total += r.Len; total > MaxWorkingSet {
			return nil, fmt.Errorf("%w: boot working set ranges total more than %d bytes (%#x by range %d)", ErrBadNote,
				MaxWorkingSet, total, i)
		}
		ranges[i] = r
	}
	return ranges, nil
}
