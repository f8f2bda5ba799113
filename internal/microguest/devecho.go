package microguest

import "github.com/unimon/unimon/guestabi"

// DeviceEcho uses a net and a block device in one run, for load tests
// that attach both to every VM. It declares NetDeviceName (handle 1) and
// BlockDeviceName (handle 2); writes BlockPattern at offset 512 and reads
// it back into a separate buffer; sends NetEchoFrame and waits, as
// NetEcho does, for one frame back; then prints the 512 bytes read from
// the block device followed by the frame received, and halts with 0 (1
// if no frame came).
//
// The host attaches a block device of at least 1 KiB and a net backend
// that echoes the frame; it should observe BlockPattern followed by that
// frame on the output, exit status 0, and BlockPattern at offset 512 of
// the block device.
func DeviceEcho() []byte { return x86Guest(deviceEcho) }

// A64DeviceEcho is DeviceEcho for aarch64.
func A64DeviceEcho() []byte { return a64Guest(deviceEcho) }

// deviceEcho is DeviceEcho.
func deviceEcho(g code) {
	g.declare(netAndBlock[:]...)
	d := g.data()
	wbuf := d.bytes(BlockPattern[:])
	frame := d.bytes(NetEchoFrame[:])
	ws := d.reserve(guestabi.BlockIOSize)
	rs := d.reserve(guestabi.BlockIOSize)
	nw := d.reserve(guestabi.NetIOSize)
	poll := d.put(&guestabi.Poll{TimeoutNsecs: NetEchoPollTimeout}, guestabi.PollSize)
	nr := d.reserve(guestabi.NetIOSize)
	bout := d.reserve(guestabi.PutsSize)
	nout := d.reserve(guestabi.PutsSize)
	rbuf := d.zero(BlockRoundTripSize)
	nbuf := d.zero(NetEchoBufSize)
	d.set(ws, &guestabi.BlockIO{Handle: 2, Offset: BlockRoundTripOffset, Data: uint64(wbuf), Len: BlockRoundTripSize})
	d.set(rs, &guestabi.BlockIO{Handle: 2, Offset: BlockRoundTripOffset, Data: uint64(rbuf), Len: BlockRoundTripSize})
	d.set(nw, &guestabi.NetIO{Handle: 1, Data: uint64(frame), Len: uint64(len(NetEchoFrame))})
	d.set(nr, &guestabi.NetIO{Handle: 1, Data: uint64(nbuf), Len: NetEchoBufSize})
	d.set(bout, &guestabi.Puts{Data: uint64(rbuf), Len: BlockRoundTripSize})
	d.set(nout, &guestabi.Puts{Data: uint64(nbuf)})

	g.hypercall(guestabi.HypercallBlockWrite, ws)
	g.hypercall(guestabi.HypercallBlockRead, rs)
	g.hypercall(guestabi.HypercallNetWrite, nw)
	g.receive(NetEchoMaxPolls, poll, nr, nout, func() { g.halt(guestabi.ExitFailure) })
	g.hypercall(guestabi.HypercallPuts, bout)
	g.hypercall(guestabi.HypercallPuts, nout)
	g.halt(guestabi.ExitSuccess)
}

// BlockFaultDiskSize is the size of the block device BlockAfterSignal
// needs, and BlockFaultLastOffset the offset of its last block, which
// the guest reads after the signal: a host that truncated the file in
// between makes that read come up short.
const (
	BlockFaultDiskSize   = 4096
	BlockFaultLastOffset = BlockFaultDiskSize - BlockRoundTripSize
	// BlockFaultSecondOffset is where BlockAfterSignal writes after the
	// signal.
	BlockFaultSecondOffset = 1024
)

// BlockAfterSignal lets a host break its block device at a known point
// of the run. It declares NetDeviceName (handle 1) and BlockDeviceName
// (handle 2, BlockFaultDiskSize bytes); writes BlockPattern at offset
// 512; sends NetEchoFrame; waits, as NetEcho does, for any frame back
// (the signal: the host breaks the device before sending it); then reads
// the last block, writes BlockPattern again at BlockFaultSecondOffset,
// prints the 512 bytes of the last block and halts with 0 (1 if no frame
// came).
//
// With a healthy device the host should observe 512 zero bytes and exit
// status 0. A device that fails after the signal must fail the run with
// a device error naming the call, and leave BlockPattern at offset 512.
func BlockAfterSignal() []byte {
	return build(func(p *prog) {
		p.declare(netAndBlock[:]...)
		d := &p.d
		pattern := d.bytes(BlockPattern[:])
		frame := d.bytes(NetEchoFrame[:])
		w1 := d.put(&guestabi.BlockIO{Handle: 2, Offset: BlockRoundTripOffset, Data: uint64(pattern), Len: BlockRoundTripSize}, guestabi.BlockIOSize)
		w2 := d.put(&guestabi.BlockIO{Handle: 2, Offset: BlockFaultSecondOffset, Data: uint64(pattern), Len: BlockRoundTripSize}, guestabi.BlockIOSize)
		nw := d.put(&guestabi.NetIO{Handle: 1, Data: uint64(frame), Len: uint64(len(NetEchoFrame))}, guestabi.NetIOSize)
		poll := d.put(&guestabi.Poll{TimeoutNsecs: NetEchoPollTimeout}, guestabi.PollSize)
		rd := d.reserve(guestabi.BlockIOSize)
		nr := d.reserve(guestabi.NetIOSize)
		nout := d.reserve(guestabi.PutsSize)
		out := d.reserve(guestabi.PutsSize)
		last := d.zero(BlockRoundTripSize)
		nbuf := d.zero(NetEchoBufSize)
		d.set(rd, &guestabi.BlockIO{Handle: 2, Offset: BlockFaultLastOffset, Data: uint64(last), Len: BlockRoundTripSize})
		d.set(nr, &guestabi.NetIO{Handle: 1, Data: uint64(nbuf), Len: NetEchoBufSize})
		d.set(out, &guestabi.Puts{Data: uint64(last), Len: BlockRoundTripSize})

		p.hypercall(guestabi.HypercallBlockWrite, w1)
		p.hypercall(guestabi.HypercallNetWrite, nw)
		p.receive(NetEchoMaxPolls, poll, nr, nout, func() { p.halt(guestabi.ExitFailure) })
		p.hypercall(guestabi.HypercallBlockRead, rd)
		p.hypercall(guestabi.HypercallBlockWrite, w2)
		p.hypercall(guestabi.HypercallPuts, out)
		p.halt(guestabi.ExitSuccess)
	})
}

// netAndBlock is the manifest of DeviceEcho and BlockAfterSignal:
// NetDeviceName is handle 1 (so receive's readiness test holds) and
// BlockDeviceName handle 2.
var netAndBlock = [...]guestabi.Entry{
	{Name: NetDeviceName, Type: guestabi.DeviceNetBasic},
	{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic},
}
