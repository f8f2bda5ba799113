package microguest

import (
	"debug/elf"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// CatalogueDataAddr is where every catalogue guest's data segment is
// loaded. It is fixed, rather than following the text, so the code can
// name its argument structs by absolute 32-bit address. The text and the
// notes of a catalogue guest fit easily below it.
const CatalogueDataAddr = 0x110000

// encoder is what the guestabi argument structs have in common.
type encoder interface{ Encode([]byte) }

// dataSeg lays out a guest's data segment: regions with contents first
// (the file part, Data), then zero regions (BSS), so big buffers cost no
// file space and exercise the monitor's zeroing of p_memsz beyond
// p_filesz. A zero region's address depends on the size of all the
// regions with contents, so build runs a builder twice when its first
// guess of that size was wrong.
type dataSeg struct {
	init     []byte
	zeroBase int // where zero regions start: the guess of len(init) rounded up to 8
	zeroLen  int
}

func align8(n int) int { return (n + 7) &^ 7 }

// reserve adds n bytes of contents and returns their address.
func (d *dataSeg) reserve(n int) uint32 {
	off := align8(len(d.init))
	d.init = append(d.init, make([]byte, off+n-len(d.init))...)
	return uint32(CatalogueDataAddr + off)
}

// bytes places b and returns its guest address.
func (d *dataSeg) bytes(b []byte) uint32 {
	gpa := d.reserve(len(b))
	copy(d.init[gpa-CatalogueDataAddr:], b)
	return gpa
}

// zero reserves n zeroed bytes (in BSS) and returns their address.
func (d *dataSeg) zero(n int) uint32 {
	off := d.zeroBase + align8(d.zeroLen)
	d.zeroLen = align8(d.zeroLen) + n
	return uint32(CatalogueDataAddr + off)
}

// set encodes v into the region at gpa, reserved earlier, typically
// because v points at a buffer allocated after it.
func (d *dataSeg) set(gpa uint32, v encoder) { v.Encode(d.init[gpa-CatalogueDataAddr:]) }

// put places the argument struct v of n bytes and returns its address.
func (d *dataSeg) put(v encoder, n int) uint32 {
	gpa := d.reserve(n)
	d.set(gpa, v)
	return gpa
}

// prog is an x86_64 guest under construction: its code, and its data and
// devices (image). It implements code for the guests written once.
type prog struct {
	image
	a Asm
}

// hypercall issues call with the argument struct at arg, the x86_64 hvt
// way: `mov edx, 0x500+nr; mov eax, arg; out dx, eax`. It clobbers RAX
// and RDX only.
func (p *prog) hypercall(call guestabi.Hypercall, arg uint32) {
	p.a.MovImm32(RDX, guestabi.PIOBase+uint32(call))
	p.a.MovImm32(RAX, arg)
	p.a.OutDXEAX()
}

// halt ends the guest with status. The ud2 after it only runs if a monitor
// wrongly resumes the guest after HALT; with no IDT it triple-faults, which
// fails loudly instead of running off into whatever follows.
func (p *prog) halt(status int32) {
	p.hypercall(guestabi.HypercallHalt, p.d.put(&guestabi.Halt{ExitStatus: status}, guestabi.HaltSize))
	p.a.Ud2()
}

// putsCmdline implements code. RDI still holds the boot info pointer the
// guest was entered with: nothing the guests emit clobbers it.
func (p *prog) putsCmdline(line uint32) {
	a := &p.a
	a.Load64(RSI, RDI, bootCmdline) // RSI = start of the command line
	a.Mov(RBX, RSI)                 // RBX = cursor
	a.MovImm32(RCX, guestabi.CmdlineSize-1)
	a.Label("scan")
	a.Load8(RAX, RBX, 0)
	a.CmpImm(RAX, 0)
	a.Jcc(CondE, "found")
	a.Inc(RBX)
	a.Dec(RCX)
	a.Jcc(CondNZ, "scan")
	a.Label("found")
	a.Sub(RBX, RSI) // length
	a.MovImm32(R8, line)
	a.Store64(R8, 0, RSI)
	a.Store64(R8, 8, RBX)
}

// hypercallBelowMem implements code.
func (p *prog) hypercallBelowMem(call guestabi.Hypercall, k uint32) {
	a := &p.a
	a.Load64(RAX, RDI, bootMemSize)
	if k != 0 {
		a.SubImm(RAX, int32(k))
	}
	a.MovImm32(RDX, guestabi.PIOBase+uint32(call))
	a.OutDXEAX() // EAX is mem_size-k: it fits, memory is at most 4 GiB
}

// storeBelowMem implements code.
func (p *prog) storeBelowMem(base, off, k uint32) {
	a := &p.a
	a.Load64(RAX, RDI, bootMemSize)
	if k != 0 {
		a.SubImm(RAX, int32(k))
	}
	a.MovImm32(R8, base)
	a.Store64(R8, int32(off), RAX)
}

// hypercallLoop implements code with loop on the call's port.
func (p *prog) hypercallLoop(n uint32, call guestabi.Hypercall, arg uint32) {
	p.loop(n, guestabi.PIOBase+uint32(call), arg)
}

// loop emits: if n != 0, do `out dx, eax` n times with the given port and
// EAX. Setting EDX and EAX once outside the loop relies on the monitor not
// changing guest registers on a port exit, which KVM guarantees; it keeps
// the loop at three instructions per exit.
func (p *prog) loop(n uint32, port, eax uint32) {
	a := &p.a
	a.MovImm32(RCX, n)
	a.MovImm32(RDX, port)
	a.MovImm32(RAX, eax)
	a.CmpImm(RCX, 0)
	a.Jcc(CondE, "done")
	a.Label("loop")
	a.OutDXEAX()
	a.Dec(RCX)
	a.Jcc(CondNZ, "loop")
	a.Label("done")
}

// receive implements code. The struct addresses live in R8 and R9 across
// the hypercalls, which clobber only RAX and RDX.
func (p *prog) receive(tries, poll, read, out uint32, timeout func()) {
	a := &p.a
	a.MovImm32(RBX, tries)
	a.MovImm32(R8, poll)
	a.MovImm32(R9, read)
	a.Label("poll")
	p.hypercall(guestabi.HypercallPoll, poll)
	a.Load64(RAX, R8, 8) // ready_set
	a.TestImm(RAX, 1<<1) // handle 1
	a.Jcc(CondZ, "next")
	p.hypercall(guestabi.HypercallNetRead, read)
	a.Load32(RAX, R9, 24) // ret
	a.CmpImm(RAX, int32(guestabi.ResultOK))
	a.Jcc(CondE, "got")
	a.Label("next")
	a.Dec(RBX)
	a.Jcc(CondNZ, "poll")
	timeout()

	a.Label("got")
	a.Load64(RAX, R9, 16) // frame length
	a.MovImm32(R10, out)
	a.Store64(R10, 8, RAX)
}

// build runs f to build a guest and returns its ELF (see layout).
func build(f func(p *prog)) []byte {
	p := buildProg(f)
	text, err := p.a.Finish()
	if err != nil {
		// The catalogue's programs are fixed, so this is a bug in this
		// package, which the tests catch for every guest.
		panic(fmt.Sprintf("microguest: catalogue guest does not assemble: %v", err))
	}
	return p.link(elf.EM_X86_64, text)
}

// buildProg runs f, twice if needed (see layout).
func buildProg(f func(p *prog)) *prog {
	return layout(func(zeroBase int) *prog { return &prog{image: image{d: dataSeg{zeroBase: zeroBase}}} }, f)
}

// x86Guest builds a guest written once for both architectures for x86_64.
func x86Guest(g func(code)) []byte { return build(on[*prog](g)) }
