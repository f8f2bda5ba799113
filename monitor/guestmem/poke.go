package guestmem

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// span is a guest-physical range [start, end).
type span struct{ start, end uint64 }

func (m *Memory) noteProtect(gpa, n uint64, writable bool) {
	var keep []span
	for _, s := range m.readOnly {
		// Cut [gpa, gpa+n) out of every recorded range.
		if s.end <= gpa || s.start >= gpa+n {
			keep = append(keep, s)
			continue
		}
		if s.start < gpa {
			keep = append(keep, span{s.start, gpa})
		}
		if s.end > gpa+n {
			keep = append(keep, span{gpa + n, s.end})
		}
	}
	if !writable {
		keep = append(keep, span{gpa, gpa + n})
	}
	m.readOnly = keep
}

// Poke writes b at guest-physical gpa under the same bounds as Bytes,
// even into pages Protect made read-only (a debugger's breakpoint in
// guest text): those pages are made writable for the copy and read-only
// again after. It must not race with a running vCPU writing there.
func (m *Memory) Poke(gpa uint64, b []byte) error {
	dst, err := m.Bytes(gpa, uint64(len(b)))
	if err != nil {
		return err
	}
	ps := uint64(unix.Getpagesize())
	first, last := gpa&^(ps-1), (gpa+uint64(len(b))+ps-1)&^(ps-1)
	var ro []span
	for _, s := range m.readOnly {
		if s.start < last && s.end > first {
			ro = append(ro, span{max(s.start, first), min(s.end, last)})
		}
	}
	for _, s := range ro {
		if err := unix.Mprotect(m.mem[s.start:s.end], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return fmt.Errorf("poke gpa=%#x: %w", gpa, err)
		}
	}
	copy(dst, b)
	for _, s := range ro {
		if err := unix.Mprotect(m.mem[s.start:s.end], unix.PROT_READ); err != nil {
			return fmt.Errorf("poke gpa=%#x: restoring read-only: %w", gpa, err)
		}
	}
	return nil
}

// Peek copies guest-physical [gpa, gpa+len(b)) into b. Unlike Bytes,
// whose bounds are the hypercall ABI's, the range may end at the very top
// of memory: a debugger reading the initial stack needs the last bytes.
func (m *Memory) Peek(gpa uint64, b []byte) error {
	size := uint64(len(m.mem))
	end := gpa + uint64(len(b))
	if gpa >= size || end < gpa || end > size {
		return &AccessError{GPA: gpa, Len: uint64(len(b)), Size: size}
	}
	copy(b, m.mem[gpa:end])
	return nil
}
