// Package guestabi is the contract between unimon and the unikernels it
// runs: the Solo5 hvt guest ABI, version 2, as upstream solo5-hvt v0.12.1
// implements it.
//
// It holds every number and byte layout both sides must agree on:
// hypercall numbers and their argument structs, the boot info block, the
// ABI1 and MFT1 ELF notes and the device manifest. Everything is pure Go
// over byte slices (little-endian, explicit offsets), with no OS calls, so
// the host monitor and the Go guest bindings import the same definitions.
package guestabi

import (
	"encoding/binary"
	"fmt"
)

var le = binary.LittleEndian

// Hypercall identifies one entry point of the hvt ABI.
type Hypercall uint32

// The hypercalls, numbered as upstream (0 is never valid).
const (
	HypercallWalltime   Hypercall = 1
	HypercallPuts       Hypercall = 2
	HypercallPoll       Hypercall = 3
	HypercallBlockWrite Hypercall = 4
	HypercallBlockRead  Hypercall = 5
	HypercallNetWrite   Hypercall = 6
	HypercallNetRead    Hypercall = 7
	HypercallHalt       Hypercall = 8

	// NumHypercalls sizes a dispatch table indexed by Hypercall.
	NumHypercalls = 9
)

var hypercallNames = [NumHypercalls]string{
	"", "WALLTIME", "PUTS", "POLL", "BLOCK_WRITE", "BLOCK_READ", "NET_WRITE", "NET_READ", "HALT",
}

func (h Hypercall) String() string {
	if h > 0 && h < NumHypercalls {
		return hypercallNames[h]
	}
	return fmt.Sprintf("hypercall(%d)", uint32(h))
}

// How a guest issues a hypercall.
const (
	// PIOBase: on x86_64 the guest writes the 32-bit GPA of the argument
	// struct with `outl` to port PIOBase+nr.
	PIOBase = 0x500
	// RingKickPort is the x86_64 port of the (optional) net ring's doorbell.
	RingKickPort = 0x600
	// MMIOBase: on aarch64 the guest stores the 32-bit GPA of the argument
	// struct to MMIOBase + nr<<3.
	MMIOBase = 0x1_0000_0000
	// MMIOStride is the distance between two aarch64 hypercall addresses.
	MMIOStride = 8
	// MMIORingKick is the aarch64 address of the net ring's doorbell.
	MMIORingKick = 0x1_0000_0100
	// HaltCookieMax is how many bytes of guest memory a HALT cookie spans.
	HaltCookieMax = 512
)

// Result is solo5_result_t, as hypercalls report it in their ret field.
type Result int32

// Result codes.
const (
	ResultOK      Result = 0
	ResultAgain   Result = 1
	ResultEINVAL  Result = 2
	ResultEUNSPEC Result = 3
)

// Exit statuses a guest passes to HALT.
const (
	ExitSuccess = 0
	ExitFailure = 1
	ExitAbort   = 255
)

// Sizes of the hypercall argument structs.
const (
	WalltimeSize = 8
	PutsSize     = 16
	PollSize     = 24
	BlockIOSize  = 40
	NetIOSize    = 32
	HaltSize     = 16
)

// Walltime is struct hvt_hc_walltime.
type Walltime struct {
	Nsecs uint64 // @0 OUT: CLOCK_REALTIME in nanoseconds
}

// Decode reads w from b, which holds at least WalltimeSize bytes.
func (w *Walltime) Decode(b []byte) { w.Nsecs = le.Uint64(b[0:]) }

// Encode writes w into b, which holds at least WalltimeSize bytes.
func (w *Walltime) Encode(b []byte) { le.PutUint64(b[0:], w.Nsecs) }

// Puts is struct hvt_hc_puts.
type Puts struct {
	Data uint64 // @0 GPA of the bytes to print
	Len  uint64 // @8
}

// Decode reads p from b, which holds at least PutsSize bytes.
func (p *Puts) Decode(b []byte) {
	p.Data = le.Uint64(b[0:])
	p.Len = le.Uint64(b[8:])
}

// Encode writes p into b, which holds at least PutsSize bytes.
func (p *Puts) Encode(b []byte) {
	le.PutUint64(b[0:], p.Data)
	le.PutUint64(b[8:], p.Len)
}

// Poll is struct hvt_hc_poll.
type Poll struct {
	TimeoutNsecs uint64 // @0 IN, relative
	ReadySet     uint64 // @8 OUT: bit i set when manifest entry i is readable
	Ret          int32  // @16 OUT: number of ready devices
}

// Decode reads p from b, which holds at least PollSize bytes.
func (p *Poll) Decode(b []byte) {
	p.TimeoutNsecs = le.Uint64(b[0:])
	p.ReadySet = le.Uint64(b[8:])
	p.Ret = int32(le.Uint32(b[16:]))
}

// Encode writes p into b, which holds at least PollSize bytes.
func (p *Poll) Encode(b []byte) {
	le.PutUint64(b[0:], p.TimeoutNsecs)
	le.PutUint64(b[8:], p.ReadySet)
	le.PutUint32(b[16:], uint32(p.Ret))
}

// BlockIO is struct hvt_hc_block_write and struct hvt_hc_block_read,
// which share one layout.
type BlockIO struct {
	Handle uint64 // @0 manifest index
	Offset uint64 // @8 byte offset on the device
	Data   uint64 // @16 GPA of the buffer
	Len    uint64 // @24
	Ret    Result // @32 OUT
}

// Decode reads io from b, which holds at least BlockIOSize bytes.
func (io *BlockIO) Decode(b []byte) {
	io.Handle = le.Uint64(b[0:])
	io.Offset = le.Uint64(b[8:])
	io.Data = le.Uint64(b[16:])
	io.Len = le.Uint64(b[24:])
	io.Ret = Result(le.Uint32(b[32:]))
}

// Encode writes io into b, which holds at least BlockIOSize bytes.
func (io *BlockIO) Encode(b []byte) {
	le.PutUint64(b[0:], io.Handle)
	le.PutUint64(b[8:], io.Offset)
	le.PutUint64(b[16:], io.Data)
	le.PutUint64(b[24:], io.Len)
	le.PutUint32(b[32:], uint32(io.Ret))
}

// NetIO is struct hvt_hc_net_write and struct hvt_hc_net_read, which share
// one layout. For NET_READ, Len is the buffer size in and the frame size out.
type NetIO struct {
	Handle uint64 // @0 manifest index
	Data   uint64 // @8 GPA of the frame buffer
	Len    uint64 // @16
	Ret    Result // @24 OUT
}

// Decode reads io from b, which holds at least NetIOSize bytes.
func (io *NetIO) Decode(b []byte) {
	io.Handle = le.Uint64(b[0:])
	io.Data = le.Uint64(b[8:])
	io.Len = le.Uint64(b[16:])
	io.Ret = Result(le.Uint32(b[24:]))
}

// Encode writes io into b, which holds at least NetIOSize bytes.
func (io *NetIO) Encode(b []byte) {
	le.PutUint64(b[0:], io.Handle)
	le.PutUint64(b[8:], io.Data)
	le.PutUint64(b[16:], io.Len)
	le.PutUint32(b[24:], uint32(io.Ret))
}

// Halt is struct hvt_hc_halt.
type Halt struct {
	Cookie     uint64 // @0 GPA of HaltCookieMax bytes of crash data, or 0
	ExitStatus int32  // @8
}

// Decode reads h from b, which holds at least HaltSize bytes.
func (h *Halt) Decode(b []byte) {
	h.Cookie = le.Uint64(b[0:])
	h.ExitStatus = int32(le.Uint32(b[8:]))
}

// Encode writes h into b, which holds at least HaltSize bytes.
func (h *Halt) Encode(b []byte) {
	le.PutUint64(b[0:], h.Cookie)
	le.PutUint32(b[8:], uint32(h.ExitStatus))
}
