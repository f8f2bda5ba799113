// Package guestmem owns a guest's RAM: one anonymous shared mapping that
// KVM maps at guest-physical address 0, and the single checked way to turn
// a guest-physical range into host bytes.
//
// Every guest-controlled address goes through Memory.Bytes; nothing else in
// unimon indexes guest memory.
package guestmem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Size rules, as upstream solo5-hvt applies them to --mem.
const (
	MiB = 1 << 20
	// Granule is the unit guest memory is rounded down to (one 2 MiB page).
	Granule = 2 * MiB
	// DefaultSize is the guest memory size when none is given.
	DefaultSize = 512 * MiB
	// MaxSize is the largest guest memory: hypercall pointers are 32 bits.
	MaxSize = 4096 * MiB
)

// ErrOutOfBounds is returned (wrapped in an *AccessError) for a guest range
// that does not lie inside guest memory.
var ErrOutOfBounds = errors.New("invalid guest access")

// ErrSize is returned (wrapped) for a memory size outside the rules.
var ErrSize = errors.New("invalid guest memory size")

// AccessError describes a rejected guest range.
type AccessError struct {
	GPA, Len, Size uint64
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("invalid guest access: gpa=%#x, len=%#x (guest memory is %#x bytes)", e.GPA, e.Len, e.Size)
}

// Unwrap makes errors.Is(err, ErrOutOfBounds) true.
func (e *AccessError) Unwrap() error { return ErrOutOfBounds }

// SizeFromMiB turns a --mem value into a byte size: rounded down to
// Granule, between Granule and MaxSize. adjusted reports rounding, which
// upstream warns about.
func SizeFromMiB(mib uint64) (size uint64, adjusted bool, err error) {
	if mib == 0 {
		return 0, false, fmt.Errorf("%w: 0 MiB", ErrSize)
	}
	if mib > MaxSize/MiB {
		return 0, false, fmt.Errorf("%w: guest memory size %d MiB exceeds the max size %d MiB", ErrSize, mib, MaxSize/MiB)
	}
	size = mib * MiB &^ (Granule - 1)
	if size < Granule {
		return 0, false, fmt.Errorf("%w: %d MiB is below the minimum of %d MiB", ErrSize, mib, Granule/MiB)
	}
	return size, size != mib*MiB, nil
}

// Memory is a guest's RAM.
type Memory struct {
	mem      []byte
	readOnly []span // ranges Protect made read-only, for Poke
}

// New maps size bytes of zeroed guest memory. Pages are allocated by the
// host kernel only when touched (MAP_NORESERVE), so a large, mostly idle
// guest costs little. size must be a multiple of Granule, at most MaxSize.
func New(size uint64) (*Memory, error) {
	if size == 0 || size%Granule != 0 || size > MaxSize {
		return nil, fmt.Errorf("%w: %#x bytes (want a multiple of %d MiB up to %d MiB)", ErrSize, size, Granule/MiB, MaxSize/MiB)
	}
	b, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mapping %d MiB of guest memory: %w", size/MiB, err)
	}
	return &Memory{mem: b}, nil
}

// Size is the guest memory size in bytes.
func (m *Memory) Size() uint64 { return uint64(len(m.mem)) }

// Bytes returns the host bytes backing guest-physical [gpa, gpa+n), or an
// *AccessError. The bounds are upstream's (HVT_CHECKED_GPA_P): gpa inside
// memory, no overflow, and the end strictly below the top of memory, so a
// range ending at the last byte is refused. n == 0 is fine for any gpa
// inside memory.
func (m *Memory) Bytes(gpa, n uint64) ([]byte, error) {
	size := uint64(len(m.mem))
	end := gpa + n
	if gpa >= size || end < gpa || end >= size {
		return nil, &AccessError{GPA: gpa, Len: n, Size: size}
	}
	return m.mem[gpa:end:end], nil
}

// Protect makes guest-physical [gpa, gpa+n) read-only (writable false) or
// read-write in the host mapping; KVM carries the host protection into the
// guest's second-level page tables. The range must be page aligned and
// obey the same bounds as Bytes.
func (m *Memory) Protect(gpa, n uint64, writable bool) error {
	if ps := uint64(unix.Getpagesize()); gpa%ps != 0 || n%ps != 0 {
		return fmt.Errorf("protect gpa=%#x len=%#x: not page aligned", gpa, n)
	}
	b, err := m.Bytes(gpa, n)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	if err := unix.Mprotect(b, prot); err != nil {
		return fmt.Errorf("protect gpa=%#x len=%#x: %w", gpa, n, err)
	}
	m.noteProtect(gpa, n, writable)
	return nil
}

// Zero zeroes guest-physical [gpa, gpa+n) under the same bounds as Bytes.
// Whole pages are handed back to the host (MADV_REMOVE) rather than
// written, so zeroing a large .bss costs no memory until the guest uses it.
func (m *Memory) Zero(gpa, n uint64) error {
	b, err := m.Bytes(gpa, n)
	if err != nil {
		return err
	}
	ps := uint64(unix.Getpagesize())
	first := (gpa + ps - 1) &^ (ps - 1)
	last := (gpa + n) &^ (ps - 1)
	if last <= first {
		clear(b)
		return nil
	}
	clear(b[:first-gpa])
	clear(b[last-gpa:])
	if err := unix.Madvise(b[first-gpa:last-gpa], unix.MADV_REMOVE); err != nil {
		// Read-only pages refuse MADV_REMOVE; write zeroes instead, which
		// fails loudly if they really are read-only.
		clear(b[first-gpa : last-gpa])
	}
	return nil
}

// Host returns the whole mapping, for registering it with KVM as a memory
// slot. It is not a way to reach guest data: use Bytes.
func (m *Memory) Host() []byte { return m.mem }

// Close unmaps the memory. Slices returned by Bytes must not be used after.
func (m *Memory) Close() error {
	if m.mem == nil {
		return nil
	}
	err := unix.Munmap(m.mem)
	m.mem = nil
	if err != nil {
		return fmt.Errorf("unmapping guest memory: %w", err)
	}
	return nil
}
