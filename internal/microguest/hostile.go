package microguest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/unimon/unimon/guestabi"
)

// HostileKind is the way a Hostile guest's hypercall argument is wrong.
type HostileKind int

// The hostile arguments. "mem_size" is boot_info.mem_size, read by the
// guest at run time, so the cases hit the real end of guest memory
// whatever --mem the host chose (and, with a net device, the net ring
// mapped right above it, which hypercalls must not reach either).
const (
	// HostileArgPastEnd passes 0xfffffff0 as the argument struct's GPA:
	// past the end of any guest memory (at most 4 GiB, and the checks are
	// strict, so even a 4 GiB guest's struct would end past it).
	HostileArgPastEnd HostileKind = iota + 1
	// HostileArgStraddle passes mem_size-4: the struct starts inside guest
	// memory and ends outside it.
	HostileArgStraddle
	// HostileBufPastEnd gives a valid struct whose buffer (the HALT
	// cookie, for HALT) starts at mem_size.
	HostileBufPastEnd
	// HostileBufStraddle gives a valid struct whose buffer starts half its
	// length before mem_size (the HALT cookie 256 bytes before it).
	HostileBufStraddle
	// HostileOverflow gives a buffer whose end overflows 64 bits:
	// data 0x100000, len 0xffffffffffffff00 (the HALT cookie
	// 0xffffffffffffff00, whose 512 bytes wrap).
	HostileOverflow
	// HostileHandle makes the call once for each of HostileHandles, with
	// valid buffers and a manifest declaring one device of the right type
	// (handle 1), so only the handle is wrong.
	HostileHandle
)

// HostileHandles are the bad handles a HostileHandle guest tries, in
// order: the reserved entry 0, one past the only device, the last and the
// first-past-the-last possible manifest index, a huge one, and one that
// becomes the valid handle 1 if a monitor truncates handles to 32 bits or
// less.
var HostileHandles = [...]uint64{0, 2, 63, 64, 1 << 40, 1<<32 | 1}

var hostileKindNames = [...]string{
	HostileArgPastEnd:  "arg-past-end",
	HostileArgStraddle: "arg-straddle",
	HostileBufPastEnd:  "buf-past-end",
	HostileBufStraddle: "buf-straddle",
	HostileOverflow:    "overflow",
	HostileHandle:      "handle",
}

func (k HostileKind) String() string {
	if k > 0 && int(k) < len(hostileKindNames) {
		return hostileKindNames[k]
	}
	return fmt.Sprintf("HostileKind(%d)", int(k))
}

// HostileCase is one combination of a hypercall and a hostile argument.
type HostileCase struct {
	Call guestabi.Hypercall
	Kind HostileKind
}

// Name is the case's catalogue name, e.g. "hostile-block-write-buf-past-end".
func (c HostileCase) Name() string {
	return "hostile-" + strings.ReplaceAll(strings.ToLower(c.Call.String()), "_", "-") + "-" + c.Kind.String()
}

// Valid reports whether c is meaningful: argument-struct cases apply to
// every hypercall, buffer cases to the ones with a guest buffer (PUTS,
// block, net, and HALT's cookie), handle cases to block and net calls.
func (c HostileCase) Valid() bool {
	if c.Call < 1 || c.Call >= guestabi.NumHypercalls {
		return false
	}
	switch c.Kind {
	case HostileArgPastEnd, HostileArgStraddle:
		return true
	case HostileBufPastEnd, HostileBufStraddle, HostileOverflow:
		return c.Call != guestabi.HypercallWalltime && c.Call != guestabi.HypercallPoll
	case HostileHandle:
		return isDeviceCall(c.Call)
	}
	return false
}

// Fatal reports whether upstream solo5-hvt stops the guest for c (an
// "Invalid guest access" error, exit status 1) rather than returning
// SOLO5_R_EINVAL in the struct's ret and letting the guest continue. The
// two non-fatal cases are HostileHandle, and HostileOverflow on block
// calls, which upstream rejects with EINVAL because len exceeds SSIZE_MAX
// before it ever looks at the buffer.
func (c HostileCase) Fatal() bool {
	switch {
	case c.Kind == HostileHandle:
		return false
	case c.Kind == HostileOverflow && (c.Call == guestabi.HypercallBlockWrite || c.Call == guestabi.HypercallBlockRead):
		return false
	}
	return true
}

// HostileCases lists every valid case, by hypercall, then kind.
func HostileCases() []HostileCase {
	var cs []HostileCase
	for call := guestabi.Hypercall(1); call < guestabi.NumHypercalls; call++ {
		for k := HostileArgPastEnd; k <= HostileHandle; k++ {
			if c := (HostileCase{call, k}); c.Valid() {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// ErrNoSuchCase is returned (wrapped) by Hostile for a combination of
// hypercall and kind that HostileCase.Valid rejects.
var ErrNoSuchCase = errors.New("microguest: no such hostile case")

func isDeviceCall(c guestabi.Hypercall) bool {
	return c >= guestabi.HypercallBlockWrite && c <= guestabi.HypercallNetRead
}

func isBlockCall(c guestabi.Hypercall) bool {
	return c == guestabi.HypercallBlockWrite || c == guestabi.HypercallBlockRead
}

// declareFor declares the one device a guest making call needs, if any:
// BlockDeviceName for block calls, NetDeviceName for net calls (handle 1).
func declareFor(g code, call guestabi.Hypercall) {
	switch {
	case isBlockCall(call):
		g.declare(guestabi.Entry{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic})
	case isDeviceCall(call):
		g.declare(guestabi.Entry{Name: NetDeviceName, Type: guestabi.DeviceNetBasic})
	}
}

// hostileArg describes the argument struct of a hypercall for Hostile.
type hostileArg struct {
	size    int    // struct size
	dataOff uint32 // offset of the buffer pointer (the cookie for HALT)
	bufLen  uint64 // length of the well-behaved buffer
	// encode returns the struct with the given handle, buffer and length.
	encode func(handle, data, n uint64) encoder
}

func hostileArgOf(call guestabi.Hypercall) hostileArg {
	switch call {
	case guestabi.HypercallPuts:
		return hostileArg{guestabi.PutsSize, 0, 16, func(_, d, n uint64) encoder { return &guestabi.Puts{Data: d, Len: n} }}
	case guestabi.HypercallBlockWrite, guestabi.HypercallBlockRead:
		return hostileArg{guestabi.BlockIOSize, 16, BlockRoundTripSize, func(h, d, n uint64) encoder {
			return &guestabi.BlockIO{Handle: h, Data: d, Len: n}
		}}
	case guestabi.HypercallNetWrite:
		return hostileArg{guestabi.NetIOSize, 8, uint64(len(NetEchoFrame)), func(h, d, n uint64) encoder {
			return &guestabi.NetIO{Handle: h, Data: d, Len: n}
		}}
	case guestabi.HypercallNetRead:
		return hostileArg{guestabi.NetIOSize, 8, NetEchoBufSize, func(h, d, n uint64) encoder {
			return &guestabi.NetIO{Handle: h, Data: d, Len: n}
		}}
	case guestabi.HypercallHalt:
		// The cookie has no length in the struct: the monitor reads
		// HaltCookieMax bytes.
		return hostileArg{guestabi.HaltSize, 0, guestabi.HaltCookieMax, func(_, d, _ uint64) encoder {
			return &guestabi.Halt{Cookie: d}
		}}
	case guestabi.HypercallWalltime:
		return hostileArg{size: guestabi.WalltimeSize}
	case guestabi.HypercallPoll:
		return hostileArg{size: guestabi.PollSize}
	}
	return hostileArg{}
}

// Hostile returns a guest that issues call with the hostile argument kind,
// then prints the argument struct (unless the struct itself is the hostile
// part) and halts with 0. Block and net calls come with a manifest
// declaring one device of the right type (BlockDeviceName or
// NetDeviceName, handle 1), which the host must attach, so that only the
// argument is wrong; block devices need at least 512 bytes.
//
// What the host should observe, for the cases where HostileCase.Fatal is
// true: the run fails with an error naming the hypercall and the bad
// address, exit status 1, and no output (not even the struct: the monitor
// stops the guest at the bad call). Otherwise: exit status 0 and, for each
// call made, the struct printed with ret == 2 (SOLO5_R_EINVAL); for
// HostileHandle that is one struct per entry of HostileHandles.
//
// It returns an error wrapping ErrNoSuchCase for combinations that have
// no meaning (see HostileCase.Valid).
func Hostile(call guestabi.Hypercall, kind HostileKind) ([]byte, error) {
	g, err := hostileGuest(call, kind)
	if err != nil {
		return nil, err
	}
	return build(on[*prog](g)), nil
}

// hostileGuest is the guest for call and kind, written once for both
// architectures, or an error wrapping ErrNoSuchCase (see Hostile).
func hostileGuest(call guestabi.Hypercall, kind HostileKind) (func(code), error) {
	c := HostileCase{call, kind}
	if !c.Valid() {
		return nil, fmt.Errorf("%w: %v with %v", ErrNoSuchCase, call, kind)
	}
	return hostile(c), nil
}

// hostile is the guest for the valid case c (see Hostile).
func hostile(c HostileCase) func(code) {
	return func(g code) {
		declareFor(g, c.Call)
		arg := hostileArgOf(c.Call)
		d := g.data()

		switch c.Kind {
		case HostileArgPastEnd:
			g.hypercall(c.Call, 0xfffffff0)

		case HostileArgStraddle:
			g.hypercallBelowMem(c.Call, 4)

		case HostileBufPastEnd, HostileBufStraddle:
			// The buffer pointer is filled in at run time from mem_size.
			s := d.put(arg.encode(1, 0, arg.bufLen), arg.size)
			var below uint32
			if c.Kind == HostileBufStraddle {
				below = uint32(arg.bufLen / 2)
			}
			g.storeBelowMem(s, arg.dataOff, below)
			g.hypercall(c.Call, s)
			puts(g, s, arg.size)

		case HostileOverflow:
			v := arg.encode(1, TextAddr, 0xffffffffffffff00)
			if c.Call == guestabi.HypercallHalt {
				v = arg.encode(0, 0xffffffffffffff00, 0)
			}
			s := d.put(v, arg.size)
			g.hypercall(c.Call, s)
			puts(g, s, arg.size)

		case HostileHandle:
			var buf uint32
			if c.Call == guestabi.HypercallNetWrite {
				buf = d.bytes(NetEchoFrame[:])
			} else {
				buf = d.zero(int(arg.bufLen))
			}
			for _, h := range HostileHandles {
				s := d.put(arg.encode(h, uint64(buf), arg.bufLen), arg.size)
				g.hypercall(c.Call, s)
				puts(g, s, arg.size)
			}
		}
		g.halt(guestabi.ExitSuccess)
	}
}
