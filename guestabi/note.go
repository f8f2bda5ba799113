package guestabi

import (
	"errors"
	"fmt"
	"io"
)

// ELF note framing of the Solo5 notes.
const (
	NoteName       = "Solo5"
	NoteHeaderSize = 20 // n_namesz, n_descsz, n_type, "Solo5\0" + 2 pad
	NoteTypeABI1   = 0x31494241
	NoteTypeMFT1   = 0x3154464d
	ABIInfoSize    = 16
)

// NoteKind describes how one note a monitor reads is framed.
type NoteKind struct {
	Name    string // for messages: "ABI", "manifest"
	Owner   string // the note's name field: "Solo5"
	Type    uint32
	Align   uint64 // alignment of the descriptor's payload
	MaxSize uint64 // largest n_descsz accepted
}

// The two Solo5 notes a monitor reads.
var (
	NoteABI1 = NoteKind{Name: "ABI", Owner: NoteName, Type: NoteTypeABI1, Align: 4, MaxSize: 32}
	NoteMFT1 = NoteKind{Name: "manifest", Owner: NoteName, Type: NoteTypeMFT1, Align: 8,
		MaxSize: 12 + ManifestMaxEntries*ManifestEntrySize}
)

// ErrBadNote is returned (wrapped) when a Solo5 note is malformed.
var ErrBadNote = errors.New("invalid Solo5 note")

// headerSize is the note header with its name, padded to 4 bytes:
// NoteHeaderSize for "Solo5".
func (k NoteKind) headerSize() uint64 {
	return 12 + (uint64(len(k.Owner))+1+3)&^3
}

// payloadOffset is where the payload starts, counted from the note header.
func (k NoteKind) payloadOffset() uint64 {
	return (k.headerSize() + k.Align - 1) &^ (k.Align - 1)
}

// ReadNote examines the PT_NOTE segment of filesz bytes at off in r, exactly
// as upstream's elf_load_note does: only the first note of the segment is
// looked at, and ok is false when it is not a note of kind k. It returns
// the note's payload (for MFT1, the struct mft without its 4 leading pad
// bytes).
func ReadNote(r io.ReaderAt, off, filesz uint64, k NoteKind) (payload []byte, ok bool, err error) {
	if filesz < 12 {
		return nil, false, fmt.Errorf("%w: %s note does not fall within valid size (segment of %d bytes)", ErrBadNote, k.Name, filesz)
	}
	hs := k.headerSize()
	if filesz < hs {
		return nil, false, nil
	}
	hdr := make([]byte, hs)
	if err := readFull(r, hdr, off); err != nil {
		return nil, false, fmt.Errorf("%w: reading %s note header at offset %#x: %w", ErrBadNote, k.Name, off, err)
	}
	namesz, descsz, typ := le.Uint32(hdr[0:]), uint64(le.Uint32(hdr[4:])), le.Uint32(hdr[8:])
	if namesz != uint32(len(k.Owner)+1) || string(hdr[12:12+namesz]) != k.Owner+"\x00" || typ != k.Type {
		return nil, false, nil
	}
	if descsz < 1 || descsz > k.MaxSize || filesz < hs+descsz {
		return nil, false, fmt.Errorf("%w: %s note does not fall within valid size (n_descsz %d, segment %d bytes)", ErrBadNote, k.Name, descsz, filesz)
	}
	pad := k.payloadOffset() - hs
	if descsz <= pad {
		return nil, false, fmt.Errorf("%w: %s note does not fall within valid size (n_descsz %d leaves no payload)", ErrBadNote, k.Name, descsz)
	}
	payload = make([]byte, descsz-pad)
	if err := readFull(r, payload, off+k.payloadOffset()); err != nil {
		return nil, false, fmt.Errorf("%w: reading %s note at offset %#x: %w", ErrBadNote, k.Name, off, err)
	}
	return payload, true, nil
}

func readFull(r io.ReaderAt, b []byte, off uint64) error {
	if off > 1<<62 {
		return io.ErrUnexpectedEOF
	}
	n, err := r.ReadAt(b, int64(off))
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// EncodeNote returns a complete note of kind k (header, padding, payload),
// padded to a multiple of 8 bytes so notes can be laid out back to back.
func EncodeNote(k NoteKind, payload []byte) []byte {
	po := k.payloadOffset()
	n := (po + uint64(len(payload)) + 7) &^ 7
	b := make([]byte, n)
	le.PutUint32(b[0:], uint32(len(k.Owner)+1))
	le.PutUint32(b[4:], uint32(po-k.headerSize()+uint64(len(payload))))
	le.PutUint32(b[8:], k.Type)
	copy(b[12:], k.Owner)
	copy(b[po:], payload)
	return b
}

// ABIInfo is struct abi1_info, the payload of the ABI1 note.
type ABIInfo struct {
	Target  uint32
	Version uint32
}

// DecodeABIInfo parses an ABI1 note payload.
func DecodeABIInfo(b []byte) (ABIInfo, error) {
	if len(b) < 8 {
		return ABIInfo{}, fmt.Errorf("%w: ABI note payload is %d bytes, want %d", ErrBadNote, len(b), ABIInfoSize)
	}
	return ABIInfo{Target: le.Uint32(b[0:]), Version: le.Uint32(b[4:])}, nil
}

// Encode returns the 16-byte abi1_info payload.
func (a ABIInfo) Encode() []byte {
	b := make([]byte, ABIInfoSize)
	le.PutUint32(b[0:], a.Target)
	le.PutUint32(b[4:], a.Version)
	return b
}

// Check reports whether a unikernel built for a is one an hvt monitor runs,
// with upstream's messages.
func (a ABIInfo) Check() error {
	if a.Target != ABITargetHVT {
		return fmt.Errorf("executable is not for the solo5-hvt target (ABI target %d)", a.Target)
	}
	if a.Version != ABIVersion {
		return fmt.Errorf("executable requests unsupported ABI version %d (this monitor implements %d)", a.Version, ABIVersion)
	}
	return nil
}
