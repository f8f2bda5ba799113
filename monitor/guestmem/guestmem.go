// Package guestmem owns a guest's RAM: one private anonymous mapping that
// KVM maps at guest-physical address 0, and the single checked way to turn
// a guest-physical range into host bytes.
//
// Every guest-controlled address goes through the one checked accessor,
// in its read form (Memory.Bytes) or its write form (Memory.Writable);
// nothing else in unimon indexes guest memory. The write form also
// refuses any range that touches a page Protect made read-only: the host
// never writes where the guest cannot, so a hypercall that points its
// output at guest text is the guest's error, not a fault in the host.
// A debugger, and only a debugger, has two more forms (poke.go): Peek
// reads up to the very top of memory, and Poke writes even into read-only
// pages (a breakpoint in guest text).
package guestmem

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"unsafe"

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

// ErrReadOnly is returned (wrapped in an *AccessError) by Writable for a
// range inside guest memory that touches a read-only page.
var ErrReadOnly = errors.New("write to read-only guest memory")

// ErrSize is returned (wrapped) for a memory size outside the rules.
var ErrSize = errors.New("invalid guest memory size")

// AccessError describes a rejected guest range.
type AccessError struct {
	GPA, Len, Size uint64
	// Err is ErrOutOfBounds (nil means the same) or ErrReadOnly.
	Err error
	// ReadOnlyPage is, for ErrReadOnly, the guest-physical address of the
	// first read-only page the range touches.
	ReadOnlyPage uint64
}

func (e *AccessError) Error() string {
	if e.Err == ErrReadOnly {
		return fmt.Sprintf("%v: gpa=%#x, len=%#x (the page at %#x is read-only: the unikernel loaded it from a segment without PF_W)",
			ErrReadOnly, e.GPA, e.Len, e.ReadOnlyPage)
	}
	return fmt.Sprintf("invalid guest access: gpa=%#x, len=%#x (guest memory is %#x bytes)", e.GPA, e.Len, e.Size)
}

// Unwrap makes errors.Is(err, ErrOutOfBounds) or errors.Is(err,
// ErrReadOnly) true.
func (e *AccessError) Unwrap() error {
	if e.Err == nil {
		return ErrOutOfBounds
	}
	return e.Err
}

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
	mem []byte
	// readOnly is what Protect made read-only: page-aligned ranges,
	// sorted, disjoint and not adjacent. Segments are few (an hvt
	// unikernel has two or three read-only ones), so a list beats a
	// per-page bitmap: a check costs a few comparisons whatever the
	// length of the range.
	readOnly []span
}

// span is the guest-physical range [start, end).
type span struct{ start, end uint64 }

// New maps size bytes of zeroed guest memory: private anonymous memory
// (cheaper per touched page than shared memory, and nothing else maps
// it), allocated by the host kernel only when touched (MAP_NORESERVE), so
// a large, mostly idle guest costs little. size must be a multiple of
// Granule, at most MaxSize.
func New(size uint64) (*Memory, error) { return mapMemory(size, false) }

// NewHugePages is New with transparent huge pages asked for
// (MADV_HUGEPAGE) and the mapping aligned to them: touching guest memory
// then costs one fault per 2 MiB instead of per 4 KiB, and KVM can map
// the guest with 2 MiB pages, for a resident set that grows 2 MiB at a
// time. A host whose transparent huge pages are off gives small pages,
// as New.
func NewHugePages(size uint64) (*Memory, error) { return mapMemory(size, true) }

func mapMemory(size uint64, huge bool) (*Memory, error) {
	if size == 0 || size%Granule != 0 || size > MaxSize {
		return nil, fmt.Errorf("%w: %#x bytes (want a multiple of %d MiB up to %d MiB)", ErrSize, size, Granule/MiB, MaxSize/MiB)
	}
	length := size
	if huge {
		length += Granule // room to align the start to a huge page
	}
	// MmapPtr and MunmapPtr rather than Mmap and Munmap, which only unmap
	// whole mappings they made: the huge-page path keeps a part.
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(length), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mapping %d MiB of guest memory: %w", size/MiB, err)
	}
	if !huge {
		return &Memory{mem: unsafe.Slice((*byte)(p), size)}, nil
	}
	// Keep the 2 MiB-aligned size bytes and give back the rest, so that
	// guest-physical 2 MiB pages are host huge pages.
	start := uintptr(p)
	aligned := (start + Granule - 1) &^ (Granule - 1)
	if head := aligned - start; head > 0 {
		unix.MunmapPtr(p, head)
	}
	if tail := start + uintptr(length) - (aligned + uintptr(size)); tail > 0 {
		unix.MunmapPtr(unsafe.Add(p, aligned-start+uintptr(size)), tail)
	}
	mem := unsafe.Slice((*byte)(unsafe.Add(p, aligned-start)), size)
	if err := adviseHugePages(mem); err != nil && !errors.Is(err, unix.EINVAL) {
		// EINVAL: a kernel without transparent huge pages; small pages
		// do. Anything else is unexpected.
		unix.MunmapPtr(unsafe.Pointer(&mem[0]), uintptr(size))
		return nil, fmt.Errorf("asking for huge pages for %d MiB of guest memory: %w", size/MiB, err)
	}
	return &Memory{mem: mem}, nil
}

// Size is the guest memory size in bytes.
func (m *Memory) Size() uint64 { return uint64(len(m.mem)) }

// Bytes returns the host bytes backing guest-physical [gpa, gpa+n) for
// reading, or an *AccessError. The bounds are upstream's
// (HVT_CHECKED_GPA_P): gpa inside memory, no overflow, and the end
// strictly below the top of memory, so a range ending at the last byte is
// refused. n == 0 is fine for any gpa inside memory.
//
// The bytes must not be written: they may be read-only in the host
// mapping, where a write kills the host process. Use Writable to write.
func (m *Memory) Bytes(gpa, n uint64) ([]byte, error) { return m.access(gpa, n, false) }

// Writable returns the host bytes backing guest-physical [gpa, gpa+n) for
// writing (and reading). It applies Bytes's bounds and also refuses, with
// an *AccessError wrapping ErrReadOnly, a range that touches a page
// Protect made read-only.
func (m *Memory) Writable(gpa, n uint64) ([]byte, error) { return m.access(gpa, n, true) }

// access is the one checked accessor behind Bytes and Writable.
func (m *Memory) access(gpa, n uint64, write bool) ([]byte, error) {
	size := uint64(len(m.mem))
	end := gpa + n
	if gpa >= size || end < gpa || end >= size {
		return nil, &AccessError{GPA: gpa, Len: n, Size: size, Err: ErrOutOfBounds}
	}
	if write && n > 0 {
		if page, ro := m.firstReadOnly(gpa, end); ro {
			return nil, &AccessError{GPA: gpa, Len: n, Size: size, Err: ErrReadOnly, ReadOnlyPage: page}
		}
	}
	return m.mem[gpa:end:end], nil
}

// firstReadOnly returns the first read-only page [gpa, end) touches.
func (m *Memory) firstReadOnly(gpa, end uint64) (uint64, bool) {
	for _, s := range m.readOnly {
		if s.start < end && gpa < s.end {
			ps := uint64(unix.Getpagesize())
			return max(s.start, gpa&^(ps-1)), true
		}
	}
	return 0, false
}

// Protect makes guest-physical [gpa, gpa+n) read-only (writable false) or
// read-write in the host mapping; KVM carries the host protection into the
// guest's second-level page tables, and Writable refuses read-only pages
// from then on. The range must be page aligned and obey the same bounds
// as Bytes. Protect is for setting a guest up (the loader): it must not
// run while another goroutine uses the accessors.
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
	m.markReadOnly(span{gpa, gpa + n}, !writable)
	return nil
}

// markReadOnly records r as read-only (ro) or writable in m.readOnly.
func (m *Memory) markReadOnly(r span, ro bool) {
	var out []span
	for _, s := range m.readOnly {
		if s.end <= r.start || r.end <= s.start {
			out = append(out, s)
			continue
		}
		// The parts of s outside r keep their protection.
		if s.start < r.start {
			out = append(out, span{s.start, r.start})
		}
		if r.end < s.end {
			out = append(out, span{r.end, s.end})
		}
	}
	if ro {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	merged := out[:0]
	for _, s := range out {
		if k := len(merged); k > 0 && merged[k-1].end >= s.start {
			merged[k-1].end = max(merged[k-1].end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	m.readOnly = merged
}

// Zero zeroes guest-physical [gpa, gpa+n) under the same rules as
// Writable. Whole pages are handed back to the host (MADV_DONTNEED: the
// next touch of a page of private anonymous memory finds it zero) rather
// than written, so zeroing a large .bss costs no memory until the guest
// uses it.
func (m *Memory) Zero(gpa, n uint64) error {
	_, err := m.Zeroed(gpa, n)
	return err
}

// Zeroed is Zero that also returns the zeroed bytes, as Writable does,
// for a caller that fills in a few entries of an area that must
// otherwise read as zero (boot page tables, the boot information): only
// the pages it writes become resident.
func (m *Memory) Zeroed(gpa, n uint64) ([]byte, error) {
	b, err := m.Writable(gpa, n)
	if err != nil {
		return nil, err
	}
	ps := uint64(unix.Getpagesize())
	first := (gpa + ps - 1) &^ (ps - 1)
	last := (gpa + n) &^ (ps - 1)
	if last <= first {
		clear(b)
		return b, nil
	}
	clear(b[:first-gpa])
	clear(b[last-gpa:])
	if err := releasePages(b[first-gpa : last-gpa]); err != nil {
		// Should MADV_DONTNEED be refused, writing zeroes does the same;
		// Writable has made sure the pages are writable.
		clear(b[first-gpa : last-gpa])
	}
	return b, nil
}

// Populate has the host back guest-physical [gpa, gpa+n) with memory now
// (MADV_POPULATE_WRITE), as the guest's first writes to it would: a range
// the guest is about to write then costs it no page faults, and a fault
// costs a guest (a nested one most of all) many times what populating the
// page costs the host. No byte changes. The range follows Writable's rules. It is for ranges
// the guest is known to write soon, since every populated page stays
// resident; a host kernel older than Linux 5.14 refuses, and the pages
// are faulted in as usual.
func (m *Memory) Populate(gpa, n uint64) error {
	b, err := m.Writable(gpa, n)
	if err != nil {
		return err
	}
	if err := populatePages(b); err != nil {
		return fmt.Errorf("populating guest memory [%#x, %#x): %w", gpa, gpa+n, err)
	}
	return nil
}

// Resident reports, page by page, which pages of b the host backs with
// memory now (mincore). b is guest memory as Bytes, Writable or Host
// return it, starting on a host page boundary. A page only read counts:
// the read mapped the host's shared zero page.
func Resident(b []byte) ([]bool, error) {
	if len(b) == 0 {
		return nil, nil
	}
	ps := unix.Getpagesize()
	if uintptr(unsafe.Pointer(&b[0]))%uintptr(ps) != 0 {
		return nil, fmt.Errorf("resident pages of %p: not at a page boundary", &b[0])
	}
	vec := make([]byte, (len(b)+ps-1)/ps)
	if err := residentPages(b, vec); err != nil {
		return nil, fmt.Errorf("resident pages of %p: %w", &b[0], err)
	}
	resident := make([]bool, len(vec))
	for i, v := range vec {
		resident[i] = v&1 != 0
	}
	return resident, nil
}

// Host returns the whole mapping, for registering it with KVM as a memory
// slot. It is not a way to reach guest data: use Bytes.
func (m *Memory) Host() []byte { return m.mem }

// Close unmaps the memory. Slices returned by Bytes must not be used after.
func (m *Memory) Close() error {
	if m.mem == nil {
		return nil
	}
	err := unix.MunmapPtr(unsafe.Pointer(&m.mem[0]), uintptr(len(m.mem)))
	m.mem, m.readOnly = nil, nil
	if err != nil {
		return fmt.Errorf("unmapping guest memory: %w", err)
	}
	return nil
}
