package microguest

// The guests written once for both architectures (see code): their data
// layouts and hypercalls are the same on x86_64 and aarch64, only the
// instructions differ. What the host should observe is in the doc
// comments of the x86_64 constructors (Hello, Exit, ...); the A64*
// constructors build the same programs for aarch64.

import "github.com/unimon/unimon/guestabi"

// hello is Hello.
func hello(g code) {
	putsString(g, HelloText)
	line := g.data().zero(guestabi.PutsSize)
	g.putsCmdline(line)
	g.hypercall(guestabi.HypercallPuts, line)
	putsString(g, "\n")
	g.halt(guestabi.ExitSuccess)
}

// exit is Exit.
func exit(status int32) func(code) {
	return func(g code) { g.halt(status) }
}

// walltime is Walltime.
func walltime(g code) {
	w := g.data().zero(guestabi.WalltimeSize)
	g.hypercall(guestabi.HypercallWalltime, w)
	puts(g, w, guestabi.WalltimeSize)
	g.halt(guestabi.ExitSuccess)
}

// pollTimeout is PollTimeout.
func pollTimeout(ns uint64) func(code) {
	return func(g code) {
		s := g.data().put(&guestabi.Poll{TimeoutNsecs: ns}, guestabi.PollSize)
		g.hypercall(guestabi.HypercallPoll, s)
		puts(g, s, guestabi.PollSize)
		g.halt(guestabi.ExitSuccess)
	}
}

// blockRoundTrip is BlockRoundTrip.
func blockRoundTrip(g code) {
	g.declare(guestabi.Entry{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic})
	d := g.data()
	wbuf := d.bytes(BlockPattern[:])
	ws := d.reserve(guestabi.BlockIOSize)
	rs := d.reserve(guestabi.BlockIOSize)
	ps := d.reserve(guestabi.PutsSize)
	rbuf := d.zero(BlockRoundTripSize) // last, so it is BSS
	d.set(ws, &guestabi.BlockIO{Handle: 1, Offset: BlockRoundTripOffset, Data: uint64(wbuf), Len: BlockRoundTripSize})
	d.set(rs, &guestabi.BlockIO{Handle: 1, Offset: BlockRoundTripOffset, Data: uint64(rbuf), Len: BlockRoundTripSize})
	d.set(ps, &guestabi.Puts{Data: uint64(rbuf), Len: BlockRoundTripSize})

	g.hypercall(guestabi.HypercallBlockWrite, ws)
	g.hypercall(guestabi.HypercallBlockRead, rs)
	g.hypercall(guestabi.HypercallPuts, ps)
	puts(g, ws, guestabi.BlockIOSize)
	puts(g, rs, guestabi.BlockIOSize)
	g.halt(guestabi.ExitSuccess)
}

// netEcho is NetEcho.
func netEcho(g code) {
	g.declare(guestabi.Entry{Name: NetDeviceName, Type: guestabi.DeviceNetBasic})
	d := g.data()
	frame := d.bytes(NetEchoFrame[:])
	ws := d.put(&guestabi.NetIO{Handle: 1, Data: uint64(frame), Len: uint64(len(NetEchoFrame))}, guestabi.NetIOSize)
	ps := d.put(&guestabi.Poll{TimeoutNsecs: NetEchoPollTimeout}, guestabi.PollSize)
	rs := d.reserve(guestabi.NetIOSize)
	out := d.reserve(guestabi.PutsSize)
	rbuf := d.zero(NetEchoBufSize)
	// NET_READ leaves len alone on AGAIN, so the buffer size survives a
	// spurious wake-up and the next try needs no reset.
	d.set(rs, &guestabi.NetIO{Handle: 1, Data: uint64(rbuf), Len: NetEchoBufSize})
	d.set(out, &guestabi.Puts{Data: uint64(rbuf)}) // receive sets Len from NET_READ's

	g.hypercall(guestabi.HypercallNetWrite, ws)
	g.receive(NetEchoMaxPolls, ps, rs, out, func() { g.halt(guestabi.ExitFailure) })
	g.hypercall(guestabi.HypercallPuts, out)
	g.halt(guestabi.ExitSuccess)
}

// putsLoop is PutsLoop: the struct points at itself, so even a monitor
// that read its zero bytes would stay inside guest memory.
func putsLoop(n uint32) func(code) {
	return func(g code) {
		s := g.data().reserve(guestabi.PutsSize)
		g.data().set(s, &guestabi.Puts{Data: uint64(s), Len: 0})
		g.hypercallLoop(n, guestabi.HypercallPuts, s)
		g.halt(guestabi.ExitSuccess)
	}
}

// walltimeLoop is WalltimeLoop.
func walltimeLoop(n uint32) func(code) {
	return func(g code) {
		w := g.data().zero(guestabi.WalltimeSize)
		g.hypercallLoop(n, guestabi.HypercallWalltime, w)
		g.halt(guestabi.ExitSuccess)
	}
}

// blockLoop is BlockLoop: the struct asks for one block of size bs at
// offset 0, into (or from) a buffer in BSS, n times.
func blockLoop(call guestabi.Hypercall, n, bs uint32) func(code) {
	return func(g code) {
		g.declare(guestabi.Entry{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic})
		s := g.data().reserve(guestabi.BlockIOSize)
		buf := g.data().zero(int(bs))
		g.data().set(s, &guestabi.BlockIO{Handle: 1, Data: uint64(buf), Len: uint64(bs)})
		g.hypercallLoop(n, call, s)
		g.halt(guestabi.ExitSuccess)
	}
}

// netWriteLoop is NetWriteLoop.
func netWriteLoop(n uint32) func(code) {
	return func(g code) {
		g.declare(guestabi.Entry{Name: NetDeviceName, Type: guestabi.DeviceNetBasic})
		frame := g.data().bytes(NetEchoFrame[:])
		s := g.data().put(&guestabi.NetIO{Handle: 1, Data: uint64(frame), Len: uint64(len(NetEchoFrame))}, guestabi.NetIOSize)
		g.hypercallLoop(n, guestabi.HypercallNetWrite, s)
		g.halt(guestabi.ExitSuccess)
	}
}
