package guestabi

import "fmt"

// Unimon's own extension of the hvt ABI: a unikernel asks for optional
// machine features with an extra ELF note, and the monitor says which it
// provided in BootInfo.HostFeatures. Upstream solo5-hvt skips the note (its
// owner is not "Solo5") and never sets the bits, so a unikernel that asks
// must still run without the feature; a unikernel that does not ask gets
// exactly upstream's machine.
const (
	// FeatureNoteName owns the feature request note.
	FeatureNoteName = "unimon"
	// NoteTypeFeatures ("FEA1") types the feature request note, whose
	// payload is one little-endian uint32 of Request* bits.
	NoteTypeFeatures = 0x31414546

	// RequestIRQChip asks for an in-kernel interrupt controller: on
	// x86_64 a local APIC the guest may switch to x2APIC mode and whose
	// timer interrupts it (which also makes HLT wait inside KVM).
	RequestIRQChip = 1 << 0

	// FeatureIRQChip is set in BootInfo.HostFeatures when the monitor
	// created the interrupt controller RequestIRQChip asks for. Bit 0 is
	// upstream's FeatureRingIO; unimon's bits start at 16.
	FeatureIRQChip = 1 << 16
)

// NoteFeatures is the feature request note, found like the Solo5 notes:
// the first note of a PT_NOTE segment.
var NoteFeatures = NoteKind{Name: "feature request", Owner: FeatureNoteName, Type: NoteTypeFeatures, Align: 4, MaxSize: 4}

// EncodeFeatureNote returns the feature request note asking for request.
func EncodeFeatureNote(request uint32) []byte {
	var p [4]byte
	le.PutUint32(p[:], request)
	return EncodeNote(NoteFeatures, p[:])
}

// DecodeFeatureRequest parses a feature request note's payload.
func DecodeFeatureRequest(payload []byte) (uint32, error) {
	if len(payload) != 4 {
		return 0, fmt.Errorf("%w: feature request payload is %d bytes, want 4", ErrBadNote, len(payload))
	}
	return le.Uint32(payload), nil
}
