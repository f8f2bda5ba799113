package guestabi

import (
	"bytes"
	"errors"
	"fmt"
)

// DeviceType is mft_type_t.
type DeviceType uint32

// Device types of manifest entries.
const (
	DeviceBlockBasic    DeviceType = 1
	DeviceNetBasic      DeviceType = 2
	DeviceReservedFirst DeviceType = 1 << 30
)

func (t DeviceType) String() string {
	switch t {
	case DeviceBlockBasic:
		return "BLOCK_BASIC"
	case DeviceNetBasic:
		return "NET_BASIC"
	case DeviceReservedFirst:
		return "RESERVED_FIRST"
	}
	return fmt.Sprintf("DeviceType(%d)", uint32(t))
}

// Manifest limits and layout.
const (
	ManifestVersion    = 1
	ManifestMaxEntries = 64 // including the reserved entry 0
	ManifestHeaderSize = 8
	ManifestEntrySize  = 104
	DeviceNameSize     = 68 // char name[68], NUL-terminated
	DeviceNameMax      = DeviceNameSize - 1
	// ManifestMaxDevices is how many user devices fit beside entry 0.
	ManifestMaxDevices = ManifestMaxEntries - 1
)

// EthernetHeaderSize is what a frame adds to a net device's MTU: a guest
// sends and receives frames of up to MTU + EthernetHeaderSize bytes.
const EthernetHeaderSize = 14

// Offsets of struct mft_entry's fields, for code that reads a manifest in
// place without decoding it (the Go bindings' kernel, which must not
// allocate).
const (
	EntryTypeOff      = 68 // uint32 DeviceType
	EntryCapacityOff  = 72 // block: uint64 bytes
	EntryBlockSizeOff = 80 // block: uint16 bytes
	EntryMACOff       = 72 // net: [6]byte
	EntryMTUOff       = 78 // net: uint16, Ethernet header excluded
	EntryPrivateOff   = 88 // tender-private (upstream: host fd)
	EntryAttachedOff  = 96 // bool
)

// ErrInvalidManifest is returned (wrapped) for any manifest that breaks the
// rules of upstream's mft_validate.
var ErrInvalidManifest = errors.New("Solo5 manifest is invalid")

// Entry is struct mft_entry. Its index in Manifest.Entries is the device
// handle the guest passes to hypercalls.
type Entry struct {
	Name string
	Type DeviceType
	// Block properties, filled in by the monitor when attaching.
	Capacity  uint64
	BlockSize uint16
	// Net properties, filled in by the monitor when attaching.
	MAC [6]byte
	MTU uint16
	// Private is the tender-private union (upstream stores the host fd).
	Private  uint64
	Attached bool
}

// Manifest is struct mft: the devices a unikernel declares.
type Manifest struct {
	Entries []Entry // Entries[0] is the reserved entry
}

// NewManifest returns a manifest with the reserved entry 0 followed by devices.
func NewManifest(devices ...Entry) *Manifest {
	m := &Manifest{Entries: make([]Entry, 0, len(devices)+1)}
	m.Entries = append(m.Entries, Entry{Type: DeviceReservedFirst})
	m.Entries = append(m.Entries, devices...)
	return m
}

// Size is the encoded size of m in bytes.
func (m *Manifest) Size() int { return ManifestHeaderSize + ManifestEntrySize*len(m.Entries) }

// Lookup returns the handle of the first entry called name, as upstream's
// mft_get_by_name does, or -1.
func (m *Manifest) Lookup(name string) int {
	for i := 1; i < len(m.Entries); i++ {
		if m.Entries[i].Name == name {
			return i
		}
	}
	return -1
}

// Devices returns the handles of the entries of type t, in manifest order.
func (m *Manifest) Devices(t DeviceType) []int {
	var hs []int
	for i := 1; i < len(m.Entries); i++ {
		if m.Entries[i].Type == t {
			hs = append(hs, i)
		}
	}
	return hs
}

// Clone returns a deep copy of m.
func (m *Manifest) Clone() *Manifest {
	return &Manifest{Entries: append([]Entry(nil), m.Entries...)}
}

// Encode returns the binary struct mft. Names longer than DeviceNameMax are
// truncated; Validate rejects them first.
func (m *Manifest) Encode() []byte {
	b := make([]byte, m.Size())
	le.PutUint32(b[0:], ManifestVersion)
	le.PutUint32(b[4:], uint32(len(m.Entries)))
	for i, e := range m.Entries {
		eb := b[ManifestHeaderSize+i*ManifestEntrySize:][:ManifestEntrySize]
		copy(eb[:DeviceNameMax], e.Name)
		le.PutUint32(eb[EntryTypeOff:], uint32(e.Type))
		switch e.Type {
		case DeviceBlockBasic:
			le.PutUint64(eb[EntryCapacityOff:], e.Capacity)
			le.PutUint16(eb[EntryBlockSizeOff:], e.BlockSize)
		case DeviceNetBasic:
			copy(eb[EntryMACOff:], e.MAC[:])
			le.PutUint16(eb[EntryMTUOff:], e.MTU)
		}
		le.PutUint64(eb[EntryPrivateOff:], e.Private)
		if e.Attached {
			eb[EntryAttachedOff] = 1
		}
	}
	return b
}

// DecodeManifest parses a binary struct mft of exactly len(b) bytes and
// checks its framing as upstream's mft_validate does: version, entry count,
// exact size and NUL-terminated names. Validate adds the rules that apply to
// a manifest as stamped into an ELF.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) < ManifestHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than its %d-byte header", ErrInvalidManifest, len(b), ManifestHeaderSize)
	}
	version, n := le.Uint32(b[0:]), le.Uint32(b[4:])
	if version != ManifestVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidManifest, version, ManifestVersion)
	}
	if n < 1 || n > ManifestMaxEntries {
		return nil, fmt.Errorf("%w: %d entries, want 1 to %d", ErrInvalidManifest, n, ManifestMaxEntries)
	}
	if want := ManifestHeaderSize + ManifestEntrySize*int(n); len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes for %d entries, want %d", ErrInvalidManifest, len(b), n, want)
	}
	m := &Manifest{Entries: make([]Entry, n)}
	for i := range m.Entries {
		eb := b[ManifestHeaderSize+i*ManifestEntrySize:][:ManifestEntrySize]
		if eb[DeviceNameMax] != 0 {
			return nil, fmt.Errorf("%w: entry %d: name is not NUL-terminated", ErrInvalidManifest, i)
		}
		name := eb[:DeviceNameMax]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		e := &m.Entries[i]
		e.Name = string(name)
		e.Type = DeviceType(le.Uint32(eb[EntryTypeOff:]))
		switch e.Type {
		case DeviceBlockBasic:
			e.Capacity = le.Uint64(eb[EntryCapacityOff:])
			e.BlockSize = le.Uint16(eb[EntryBlockSizeOff:])
		case DeviceNetBasic:
			copy(e.MAC[:], eb[EntryMACOff:])
			e.MTU = le.Uint16(eb[EntryMTUOff:])
		}
		e.Private = le.Uint64(eb[EntryPrivateOff:])
		e.Attached = eb[EntryAttachedOff] != 0
	}
	return m, nil
}

// Validate applies the rules for a manifest as found in an ELF: the reserved
// entry 0 first, at most ManifestMaxEntries entries, names that fit, no
// entry already attached, and no device name used twice.
//
// Upstream's mft_validate accepts duplicate names, and its lookup by name
// then finds only the first, so a unikernel declaring "storage" twice
// fails later as "declared but not attached". Refusing it here says what
// is wrong, before any option is matched against the manifest.
func (m *Manifest) Validate() error {
	if len(m.Entries) < 1 || len(m.Entries) > ManifestMaxEntries {
		return fmt.Errorf("%w: %d entries, want 1 to %d", ErrInvalidManifest, len(m.Entries), ManifestMaxEntries)
	}
	if e := m.Entries[0]; e.Type != DeviceReservedFirst || e.Name != "" {
		return fmt.Errorf("%w: entry 0 must be the reserved entry", ErrInvalidManifest)
	}
	for i, e := range m.Entries {
		if len(e.Name) > DeviceNameMax {
			return fmt.Errorf("%w: entry %d: name longer than %d characters", ErrInvalidManifest, i, DeviceNameMax)
		}
		if e.Attached {
			return fmt.Errorf("%w: entry %d (%q) is marked attached", ErrInvalidManifest, i, e.Name)
		}
		if i == 0 {
			continue
		}
		if j := m.Lookup(e.Name); j != i {
			return fmt.Errorf("%w: entries %d and %d are both named %q: device names must be unique", ErrInvalidManifest, j, i, e.Name)
		}
	}
	return nil
}

// ValidDeviceName reports whether s is a name solo5-elftool accepts:
// 1 to 67 characters from [A-Za-z0-9].
func ValidDeviceName(s string) bool {
	if len(s) < 1 || len(s) > DeviceNameMax {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
