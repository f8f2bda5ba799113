package arm64

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// ErrMMIO is wrapped by every rejected MMIO access.
var ErrMMIO = errors.New("invalid guest MMIO access")

// DecodeHypercall turns a KVM_EXIT_MMIO into a hypercall number and the
// guest-physical address of its argument struct. A hypercall is a 4-byte
// store (the guest's `str w0, [x1]`) to MMIOBase + nr<<3 with nr from 1
// (WALLTIME) to 8 (HALT); anything else is an error that names the
// address, as upstream's "Invalid guest mmio access". Unlike upstream, an
// address inside the hypercall range but not on an 8-byte boundary is
// refused rather than rounded down: no conforming guest issues one.
func DecodeHypercall(addr uint64, isWrite bool, data []byte) (nr, arg uint64, err error) {
	dir := "read from"
	if isWrite {
		dir = "write to"
	}
	if addr < MMIOBase || addr >= MMIOBase+MMIOSize {
		// Stage-2 faults on addresses outside every memory slot arrive
		// as MMIO exits too.
		return 0, 0, fmt.Errorf("%w: %s unmapped guest-physical address %#x (%d bytes)", ErrMMIO, dir, addr, len(data))
	}
	off := addr - MMIOBase
	n := off / guestabi.MMIOStride
	if off%guestabi.MMIOStride != 0 || n == 0 || n >= guestabi.NumHypercalls {
		return 0, 0, fmt.Errorf("%w: %s mmio=%#x (%d bytes), which is not a hypercall address (%#x + nr*8, nr 1-%d)",
			ErrMMIO, dir, addr, len(data), uint64(MMIOBase), guestabi.NumHypercalls-1)
	}
	if !isWrite || len(data) != 4 {
		return 0, 0, fmt.Errorf("%w: %s mmio=%#x (%s hypercall) with %d bytes; hypercalls are 4-byte stores",
			ErrMMIO, dir, addr, guestabi.Hypercall(n), len(data))
	}
	return n, uint64(binary.LittleEndian.Uint32(data)), nil
}
