package microguest

import (
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

// prog is a guest under construction: its code, its data and its devices.
type prog struct {
	a   Asm
	d   dataSeg
	mft *guestabi.Manifest
}

// hypercall issues call with the argument struct at arg, the x86_64 hvt
// way: `mov edx, 0x500+nr; mov eax, arg; out dx, eax`. It clobbers RAX
// and RDX only.
func (p *prog) hypercall(call guestabi.Hypercall, arg uint32) {
	p.a.MovImm32(RDX, guestabi.PIOBase+uint32(call))
	p.a.MovImm32(RAX, arg)
	p.a.OutDXEAX()
}

// puts prints n bytes at gpa through a PUTS struct fixed at build time.
func (p *prog) puts(gpa uint32, n int) {
	p.hypercall(guestabi.HypercallPuts, p.d.put(&guestabi.Puts{Data: uint64(gpa), Len: uint64(n)}, guestabi.PutsSize))
}

// putsString prints s, kept in the data segment.
func (p *prog) putsString(s string) { p.puts(p.d.bytes([]byte(s)), len(s)) }

// halt ends the guest with status. The ud2 after it only runs if a monitor
// wrongly resumes the guest after HALT; with no IDT it triple-faults, which
// fails loudly instead of running off into whatever follows.
func (p *prog) halt(status int32) {
	p.hypercall(guestabi.HypercallHalt, p.d.put(&guestabi.Halt{ExitStatus: status}, guestabi.HaltSize))
	p.a.Ud2()
}

// build runs f to build a guest and returns its ELF. If f placed zero
// regions on the wrong guess of where they start, it runs f again with the
// right one; instruction and struct sizes never depend on addresses, so
// the second run places everything else exactly as the first did.
func build(f func(p *prog)) []byte {
	p := buildProg(f)
	text, err := p.a.Finish()
	if err != nil {
		// The catalogue's programs are fixed, so this is a bug in this
		// package, which the tests catch for every guest.
		panic(fmt.Sprintf("microguest: catalogue guest does not assemble: %v", err))
	}
	data := append(p.d.init, make([]byte, p.d.zeroBase-len(p.d.init))...)
	return ELF(Guest{
		Text:     text,
		Data:     data,
		BSS:      uint64(p.d.zeroLen),
		DataAddr: CatalogueDataAddr,
		Manifest: p.mft,
	})
}

// buildProg runs f, twice if needed (see build).
func buildProg(f func(p *prog)) *prog {
	p := new(prog)
	f(p)
	if want := align8(len(p.d.init)); want != p.d.zeroBase {
		p = &prog{d: dataSeg{zeroBase: want}}
		f(p)
	}
	return p
}
