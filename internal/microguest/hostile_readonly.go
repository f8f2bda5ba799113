package microguest

import (
	"fmt"
	"strings"

	"github.com/unimon/unimon/guestabi"
)

// ReadOnlyGPA is the guest-physical address the ReadOnly guests aim
// hypercall output at: near the end of their text page (0x100f00), which
// the loader maps read-only on the host, as the guest that found the bug
// did (`mov edx,0x501; mov eax,0x100f00; out dx,eax`).
const ReadOnlyGPA = TextAddr + 0xf00

// ReadOnlyPart is what a ReadOnly guest puts at ReadOnlyGPA.
type ReadOnlyPart int

const (
	// ReadOnlyArg puts the hypercall's argument struct there: for every
	// hypercall with result fields, the host would write into text.
	ReadOnlyArg ReadOnlyPart = iota + 1
	// ReadOnlyBuf gives a valid struct in the data segment whose buffer
	// is there: a buffer the host fills (BLOCK_READ, NET_READ) or one it
	// only reads (PUTS, BLOCK_WRITE, NET_WRITE).
	ReadOnlyBuf
)

func (p ReadOnlyPart) String() string {
	switch p {
	case ReadOnlyArg:
		return "arg"
	case ReadOnlyBuf:
		return "buf"
	}
	return fmt.Sprintf("ReadOnlyPart(%d)", int(p))
}

// ReadOnlyCase is one hypercall with one part of it in read-only guest
// memory.
type ReadOnlyCase struct {
	Call guestabi.Hypercall
	Part ReadOnlyPart
}

// Name is the case's catalogue name, e.g. "hostile-net-read-buf-in-text".
func (c ReadOnlyCase) Name() string {
	return "hostile-" + strings.ReplaceAll(strings.ToLower(c.Call.String()), "_", "-") + "-" + c.Part.String() + "-in-text"
}

// Fatal reports whether the host must write at ReadOnlyGPA to serve c:
// then the guest must be stopped with an error naming the hypercall and
// ReadOnlyGPA, exit status 1, where upstream solo5-hvt segfaults. The
// other cases only read there and must succeed.
func (c ReadOnlyCase) Fatal() bool {
	switch c.Call {
	case guestabi.HypercallPuts, guestabi.HypercallHalt:
		return false
	case guestabi.HypercallBlockWrite, guestabi.HypercallNetWrite:
		return c.Part == ReadOnlyArg // ret is an output; the data is input
	}
	return true
}

// ReadOnlyCases lists every case: the argument struct of every hypercall
// but HALT (a HALT in text would end every guest the same way), and the
// buffer of every hypercall that has one, by hypercall.
func ReadOnlyCases() []ReadOnlyCase {
	var cs []ReadOnlyCase
	for call := guestabi.Hypercall(1); call < guestabi.NumHypercalls; call++ {
		if call != guestabi.HypercallHalt {
			cs = append(cs, ReadOnlyCase{call, ReadOnlyArg})
		}
		if call == guestabi.HypercallPuts || isDeviceCall(call) {
			cs = append(cs, ReadOnlyCase{call, ReadOnlyBuf})
		}
	}
	return cs
}

// ReadOnly returns the x86_64 guest for c: it makes the call, then
// prints the argument struct when it is in the data segment (for
// ReadOnlyArg, the text would print instead, so nothing is printed) and
// halts with 0. Block and net calls come with one device of the right
// type (BlockDeviceName or NetDeviceName, handle 1), which the host must
// attach; a block device needs at least 512 bytes.
//
// What the host should observe: for c.Fatal(), an error naming the
// hypercall and gpa=0x100f00 and no output; otherwise exit status 0, and
// for ReadOnlyBuf the struct printed with ret 0 (SOLO5_R_OK; for NET_READ
// with no frame waiting, 1, SOLO5_R_AGAIN), for a PUTS the 16 bytes of
// text at ReadOnlyGPA.
func ReadOnly(c ReadOnlyCase) []byte { return x86Guest(readOnly(c)) }

// A64ReadOnly is ReadOnly for aarch64.
func A64ReadOnly(c ReadOnlyCase) []byte { return a64Guest(readOnly(c)) }

// readOnly is the guest for c, written once for both architectures.
func readOnly(c ReadOnlyCase) func(code) {
	return func(g code) {
		declareFor(g, c.Call)
		switch c.Part {
		case ReadOnlyArg:
			g.hypercall(c.Call, ReadOnlyGPA)
		case ReadOnlyBuf:
			arg := hostileArgOf(c.Call)
			s := g.data().put(arg.encode(1, ReadOnlyGPA, arg.bufLen), arg.size)
			g.hypercall(c.Call, s)
			if c.Call != guestabi.HypercallPuts {
				puts(g, s, arg.size)
			}
		}
		g.halt(guestabi.ExitSuccess)
	}
}
