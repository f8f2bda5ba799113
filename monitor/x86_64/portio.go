package x86_64

import (
	"encoding/binary"
	"fmt"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/kvm"
)

// Hypercall decodes a KVM_EXIT_IO as an hvt hypercall: one 4-byte OUT to
// port PIOBase+nr, nr a hypercall number, carrying the 32-bit
// guest-physical address of the argument struct. Every other port access
// (another port, an IN, another width, a string instruction) is the
// guest's error, naming the port. Any IOExit, whatever the guest did, is
// safe to pass.
func Hypercall(io kvm.IOExit) (nr, arg uint64, err error) {
	dir := "in"
	if io.Out {
		dir = "out"
	}
	if !io.Out || io.Size != 4 || io.Count != 1 || len(io.Data) != 4 {
		return 0, 0, fmt.Errorf("invalid guest port access: port=%#x (%s, %d bytes x %d; hypercalls are 4-byte OUTs)", io.Port, dir, io.Size, io.Count)
	}
	if io.Port <= guestabi.PIOBase || io.Port >= guestabi.PIOBase+guestabi.NumHypercalls {
		return 0, 0, fmt.Errorf("invalid guest port access: port=%#x (hypercall ports are %#x-%#x)", io.Port, guestabi.PIOBase+1, guestabi.PIOBase+guestabi.NumHypercalls-1)
	}
	return uint64(io.Port - guestabi.PIOBase), uint64(binary.LittleEndian.Uint32(io.Data)), nil
}
