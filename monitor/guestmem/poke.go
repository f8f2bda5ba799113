package guestmem

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The debugger's accessors. A debugger (monitor/gdbstub) is the one
// client that must write where the guest cannot: a software breakpoint
// goes into guest text, which the loader made read-only. Poke is the one
// sanctioned way to do that, and only a debugger may use it: everything
// serving the guest (hypercalls, devices, the loader) writes through
// Writable, which refuses read-only pages.

// Poke writes b at guest-physical gpa, for a debugger only. It applies
// Bytes's bounds but, unlike Writable, also writes into pages Protect
// made read-only (a breakpoint in guest text): those pages are made
// writable in the host mapping for the copy and read-only again before
// Poke returns, and stay read-only for Writable throughout. The guest's
// vCPU must be stopped (a debugger stop), so that it never sees the text
// writable.
func (m *Memory) Poke(gpa uint64, b []byte) error {
	n := uint64(len(b))
	if _, err := m.Bytes(gpa, n); err != nil {
		return err
	}
	ps := uint64(unix.Getpagesize())
	first, last := gpa&^(ps-1), (gpa+n+ps-1)&^(ps-1)
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
	copy(m.mem[gpa:gpa+n], b)
	for _, s := range ro {
		if err := unix.Mprotect(m.mem[s.start:s.end], unix.PROT_READ); err != nil {
			return fmt.Errorf("poke gpa=%#x: restoring read-only: %w", gpa, err)
		}
	}
	return nil
}

// Peek copies guest-physical [gpa, gpa+len(b)) into b, for a debugger.
// Unlike Bytes, whose bounds are the hypercall ABI's, the range may end at
// the very top of memory: a debugger reading the initial stack needs the
// last bytes.
func (m *Memory) Peek(gpa uint64, b []byte) error {
	size := uint64(len(m.mem))
	end := gpa + uint64(len(b))
	if gpa >= size || end < gpa || end > size {
		return &AccessError{GPA: gpa, Len: uint64(len(b)), Size: size, Err: ErrOutOfBounds}
	}
	copy(b, m.mem[gpa:end])
	return nil
}
