package guestabi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestFeatureNote(t *testing.T) {
	fn := EncodeFeatureNote(RequestIRQChip)
	want := []byte{7, 0, 0, 0, 4, 0, 0, 0, 'F', 'E', 'A', '1', 'u', 'n', 'i', 'm', 'o', 'n', 0, 0, 1, 0, 0, 0}
	if !bytes.Equal(fn, want) {
		t.Errorf("feature note\n got % x\nwant % x", fn, want)
	}
	p, ok, err := ReadNote(bytes.NewReader(fn), 0, uint64(len(fn)), NoteFeatures)
	if !ok || err != nil {
		t.Fatalf("ReadNote: ok=%v err=%v", ok, err)
	}
	if req, err := DecodeFeatureRequest(p); req != RequestIRQChip || err != nil {
		t.Errorf("request %#x, %v", req, err)
	}
	// Upstream's rules skip the note: it is not a Solo5 note.
	for _, k := range []NoteKind{NoteABI1, NoteMFT1} {
		if _, ok, err := ReadNote(bytes.NewReader(fn), 0, uint64(len(fn)), k); ok || err != nil {
			t.Errorf("%s: feature note read as a Solo5 note: ok=%v err=%v", k.Name, ok, err)
		}
	}
	// And a Solo5 note is not a feature request.
	abi := EncodeNote(NoteABI1, ABIInfo{Target: ABITargetHVT, Version: ABIVersion}.Encode())
	if _, ok, err := ReadNote(bytes.NewReader(abi), 0, uint64(len(abi)), NoteFeatures); ok || err != nil {
		t.Errorf("ABI note read as a feature request: ok=%v err=%v", ok, err)
	}
	if _, err := DecodeFeatureRequest(binary.LittleEndian.AppendUint32(nil, 1)[:3]); err == nil {
		t.Errorf("3-byte payload accepted")
	}
}
