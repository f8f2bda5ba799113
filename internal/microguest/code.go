package microguest

import (
	"debug/elf"
	"maps"
	"slices"

	"github.com/unimon/unimon/guestabi"
)

// code is what a guest written once for both architectures needs from an
// architecture's program builder (prog for x86_64, a64prog for aarch64).
// The guests whose data layout and sequence of hypercalls are the same on
// both architectures are written against it (catalogue.go, hostile.go),
// so the two cannot drift apart; each method is the handful of
// instructions that differ. Which registers a method uses is the
// builder's business: the shared guests keep nothing in registers.
type code interface {
	// data is the guest's data segment, where its argument structs and
	// buffers go.
	data() *dataSeg
	// declare makes es the guest's manifest, so es[i] is handle i+1.
	declare(es ...guestabi.Entry)
	// hypercall issues call with the argument struct at arg.
	hypercall(call guestabi.Hypercall, arg uint32)
	// halt ends the guest with status, and fails loudly should a monitor
	// wrongly resume it.
	halt(status int32)
	// putsCmdline fills the PUTS struct at line with boot_info.cmdline
	// and its length, found at run time by scanning at most CmdlineSize-1
	// bytes for the NUL (a guest that trusted the monitor blindly could
	// run off the end of the page).
	putsCmdline(line uint32)
	// hypercallBelowMem issues call with the argument struct at
	// mem_size-k, mem_size being boot_info.mem_size at run time.
	hypercallBelowMem(call guestabi.Hypercall, k uint32)
	// storeBelowMem stores mem_size-k into the 8-byte word off bytes into
	// the struct at base, for a pointer that only run time can know.
	storeBelowMem(base, off, k uint32)
	// hypercallLoop issues call with the argument struct at arg n times,
	// none for n == 0, at as few instructions per exit as it can.
	hypercallLoop(n uint32, call guestabi.Hypercall, arg uint32)
	// receive emits, up to tries times: POLL with the struct at poll and,
	// if handle 1 is ready, NET_READ with the struct at read. The first
	// read that returns OK copies the length it read into the PUTS struct
	// at out and continues after the code timeout emits, which runs once
	// every try has failed. It defines fixed labels, so a guest uses it
	// once.
	receive(tries, poll, read, out uint32, timeout func())
}

// image is the architecture-neutral part of a guest under construction:
// its data segment and its devices. Both builders embed it, which gives
// them data and declare.
type image struct {
	d       dataSeg
	mft     *guestabi.Manifest
	request uint32 // guestabi.Request* bits for the feature note
}

func (im *image) data() *dataSeg { return &im.d }

func (im *image) declare(es ...guestabi.Entry) { im.mft = guestabi.NewManifest(es...) }

// link wraps text and the data segment in a Solo5 ELF for machine. The
// data segment's file part runs up to where the zero regions start, so
// they are all BSS.
func (im *image) link(machine elf.Machine, text []byte) []byte {
	return ELF(Guest{
		Machine:  machine,
		Text:     text,
		Data:     append(im.d.init, make([]byte, im.d.zeroBase-len(im.d.init))...),
		BSS:      uint64(im.d.zeroLen),
		DataAddr: CatalogueDataAddr,
		Manifest: im.mft,
		Request:  im.request,
	})
}

// layout runs emit on fresh(0) and, if that placed zero regions on a
// wrong guess of where they start, again on fresh(the right guess).
// Instruction and struct sizes never depend on addresses, so the second
// run places everything else exactly as the first did.
func layout[P code](fresh func(zeroBase int) P, emit func(P)) P {
	p := fresh(0)
	emit(p)
	if want := align8(len(p.data().init)); want != p.data().zeroBase {
		p = fresh(want)
		emit(p)
	}
	return p
}

// on adapts a guest written once to the builder P, the form build and
// buildA64 take.
func on[P code](g func(code)) func(P) { return func(p P) { g(p) } }

// puts prints n bytes at gpa through a PUTS struct fixed at build time.
func puts(g code, gpa uint32, n int) {
	g.hypercall(guestabi.HypercallPuts, g.data().put(&guestabi.Puts{Data: uint64(gpa), Len: uint64(n)}, guestabi.PutsSize))
}

// putsString prints s, kept in the data segment.
func putsString(g code, s string) { puts(g, g.data().bytes([]byte(s)), len(s)) }

// portable names the guests written once, for Build and BuildA64: the
// names mean the same program on both architectures, so a tool can build
// "hello" for whichever one it runs on.
var portable = func() map[string]func(Params) func(code) {
	m := map[string]func(Params) func(code){
		"hello":           func(Params) func(code) { return hello },
		"exit":            func(p Params) func(code) { return exit(p.Status) },
		"walltime":        func(Params) func(code) { return walltime },
		"poll":            func(p Params) func(code) { return pollTimeout(p.Timeout) },
		"block-roundtrip": func(Params) func(code) { return blockRoundTrip },
		"net-echo":        func(Params) func(code) { return netEcho },
		"puts-loop":       func(p Params) func(code) { return putsLoop(p.N) },
		"walltime-loop":   func(p Params) func(code) { return walltimeLoop(p.N) },
	}
	for _, c := range HostileCases() {
		m[c.Name()] = func(Params) func(code) { return hostile(c) }
	}
	for _, c := range ReadOnlyCases() {
		m[c.Name()] = func(Params) func(code) { return readOnly(c) }
	}
	return m
}()

// withPortable adds the portable guests, for the builder P, to own: the
// guests only that architecture has, or has in a form of its own.
func withPortable[P code](own map[string]func(Params) func(P)) map[string]func(Params) func(P) {
	for name, g := range portable {
		own[name] = func(p Params) func(P) { return on[P](g(p)) }
	}
	return own
}

// sortedNames lists a by-name catalogue's names, sorted.
func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
