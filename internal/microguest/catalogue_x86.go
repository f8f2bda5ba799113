package microguest

// The x86_64 guests: the constructors of the programs written once for
// both architectures (catalogue.go), with what the host should observe,
// and the x86_64-only ones. The file name avoids the _amd64 suffix on
// purpose: that would be a build constraint, and these are just bytes that
// every host architecture must be able to produce.

import (
	"github.com/unimon/unimon/guestabi"
)

// Device names the catalogue's manifests declare. A monitor running
// BlockRoundTrip or NetEcho (or a Hostile guest for a block or net call)
// must attach a device under this name.
const (
	BlockDeviceName = "storage"
	NetDeviceName   = "service0"
)

// Offsets into struct hvt_boot_info, which RDI points at on entry.
const (
	bootMemSize = 0
	bootCmdline = 24
)

// HelloText is what Hello prints before the command line.
const HelloText = "Hello, world\n"

// Hello prints HelloText, then the command line, then "\n", and halts with
// status 0. The host should observe exactly "Hello, world\n" + cmdline +
// "\n" on its output and exit status 0.
//
// The command line's length is found at run time by scanning the string
// at boot_info.cmdline for its NUL, at most CmdlineSize-1 bytes (a guest
// that trusted the monitor blindly could run off the end of the page).
func Hello() []byte { return x86Guest(hello) }

// Exit halts at once with status. The host should observe no output and
// exit status status (a process can only report status & 0xff).
func Exit(status int32) []byte { return x86Guest(exit(status)) }

// Walltime issues WALLTIME, prints the 8 raw bytes of the struct
// (little-endian nanoseconds since the Unix epoch) and halts with 0. The
// host should observe exactly 8 bytes of output, decode them and find a
// time between the moments it started and reaped the guest.
func Walltime() []byte { return x86Guest(walltime) }

// PollTimeout issues POLL with a timeout of ns nanoseconds, prints the
// 24-byte struct as the monitor left it and halts with 0. With no devices,
// the host should observe the timeout echoed at offset 0, ready_set 0 at
// offset 8 and ret 0 at offset 16, and (in a benchmark, not a test) that
// the guest took at least ns to finish.
func PollTimeout(ns uint64) []byte { return x86Guest(pollTimeout(ns)) }

// Block geometry of BlockRoundTrip.
const (
	BlockRoundTripOffset = 512
	BlockRoundTripSize   = 512
)

// BlockPattern is the block BlockRoundTrip writes: byte i is i&0xff ^ 0x5a.
var BlockPattern = func() (b [BlockRoundTripSize]byte) {
	for i := range b {
		b[i] = byte(i) ^ 0x5a
	}
	return b
}()

// BlockRoundTrip declares one BLOCK_BASIC device, BlockDeviceName (handle
// 1). It writes BlockPattern at offset 512 with BLOCK_WRITE, reads offset
// 512 back into a separate zeroed buffer with BLOCK_READ, then prints the
// 512 bytes read, the 40-byte BLOCK_WRITE struct and the 40-byte
// BLOCK_READ struct, and halts with 0.
//
// The host attaches a file of at least 1024 bytes (block size 512) and
// should observe 592 bytes of output: BlockPattern, then two structs with
// handle 1, offset 512, len 512 and ret 0; the file holds BlockPattern at
// offset 512 afterwards; exit status 0.
func BlockRoundTrip() []byte { return x86Guest(blockRoundTrip) }

// NetEchoFrame is the 60-byte Ethernet frame NetEcho sends (the minimum
// frame size, FCS excluded):
//
//	0..5    ff:ff:ff:ff:ff:ff  destination: broadcast, so any peer accepts it
//	6..11   02:00:00:00:00:01  source: locally administered unicast
//	12..13  88 b5              EtherType: IEEE 802 local experimental 1
//	14..37  "unimon microguest echo\n" and a NUL (24 bytes)
//	38..59  zero padding
var NetEchoFrame = func() (f [60]byte) {
	copy(f[0:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:], []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01})
	copy(f[12:], []byte{0x88, 0xb5})
	copy(f[14:], "unimon microguest echo\n")
	return f
}()

// NetEcho timing.
const (
	NetEchoPollTimeout = 1_000_000_000 // ns per POLL
	NetEchoMaxPolls    = 10
	NetEchoBufSize     = 2048
)

// NetEcho declares one NET_BASIC device, NetDeviceName (handle 1). It
// sends NetEchoFrame with NET_WRITE, then up to NetEchoMaxPolls times
// issues POLL with a 1 s timeout; when ready_set has bit 1 it issues
// NET_READ into a 2048-byte buffer and, if ret is OK, prints the frame
// received (len bytes, as NET_READ reported) and halts with 0. If no frame
// arrives it halts with 1.
//
// The host attaches a net backend, should receive NetEchoFrame on it, then
// send one frame back; it should observe exactly that frame on the guest's
// output and exit status 0. Sending nothing gives exit status 1 after
// about 10 s.
func NetEcho() []byte { return x86Guest(netEcho) }

// TripleFault loads an IDT with limit 0 and executes ud2. The #UD cannot be
// delivered, nor can the #DF that follows, so the CPU shuts down. The host
// should observe KVM_EXIT_SHUTDOWN (the guest does not halt), reported by
// the monitor as an error, with no output.
func TripleFault() []byte { return build(tripleFaultProg()) }

// tripleFaultProg emits TripleFault.
func tripleFaultProg() func(*prog) {
	return func(p *prog) {
		a := &p.a
		a.Lea(RAX, "idtr")
		a.Lidt(RAX)
		a.Ud2()
		a.Align(8)
		a.Label("idtr")
		a.Bytes(make([]byte, 10)) // limit 0, base 0
	}
}

// WriteText stores 8 bytes into its own text page, which the monitor maps
// read-only on the host. The host should observe the run failing with a
// guest write to read-only memory at a GPA in the page at TextAddr (on
// standard KVM KVM_RUN fails with EFAULT; on this project's PVM hosts it
// is a KVM_EXIT_MMIO), with no output. A monitor that left text writable
// would instead see the guest halt with status 0.
func WriteText() []byte { return build(writeTextProg()) }

// writeTextProg emits WriteText.
func writeTextProg() func(*prog) {
	return func(p *prog) {
		a := &p.a
		a.Lea(RAX, "target")
		a.Store64(RAX, 0, RAX)
		p.halt(guestabi.ExitSuccess)
		a.Align(8)
		a.Label("target")
		a.Bytes(make([]byte, 8))
	}
}

// BadPort does a 4-byte `out` to port 0x509, one past HALT, with EAX the
// address of a valid HALT struct. The host should observe the run failing
// with an invalid port access naming port 0x509, with no output; a monitor
// that took it for a hypercall would halt with status 0.
func BadPort() []byte { return build(badPortProg()) }

// badPortProg emits BadPort.
func badPortProg() func(*prog) {
	return func(p *prog) {
		h := p.d.put(&guestabi.Halt{}, guestabi.HaltSize)
		p.a.MovImm32(RDX, guestabi.PIOBase+guestabi.NumHypercalls)
		p.a.MovImm32(RAX, h)
		p.a.OutDXEAX()
		p.halt(guestabi.ExitSuccess)
	}
}

// BadPortSize does a 1-byte `out dx, al` to port 0x501 (WALLTIME), with
// EAX the address of a valid WALLTIME struct, so only the access size is
// wrong. The host should observe the run failing with an invalid port
// access (size 1) naming port 0x501, with no output.
func BadPortSize() []byte { return build(badPortSizeProg()) }

// badPortSizeProg emits BadPortSize.
func badPortSizeProg() func(*prog) {
	return func(p *prog) {
		w := p.d.zero(guestabi.WalltimeSize)
		p.a.MovImm32(RDX, guestabi.PIOBase+uint32(guestabi.HypercallWalltime))
		p.a.MovImm32(RAX, w)
		p.a.OutDXAL()
		p.halt(guestabi.ExitSuccess)
	}
}

// Spin loops forever (`jmp .`) without a single exit. The host should
// observe nothing until it stops the guest itself (cancellation, signal):
// the guest never halts.
func Spin() []byte { return build(spinProg()) }

// spinProg emits Spin.
func spinProg() func(*prog) {
	return func(p *prog) {
		p.a.Label("spin")
		p.a.Jmp("spin")
	}
}

// RawExitPort is the port RawExitLoop writes: not a hypercall, so an hvt
// monitor rejects it, but a raw-KVM floor benchmark can count it.
const RawExitPort = 0x4ff

// PutsLoop issues n PUTS of zero bytes, then halts with 0. The host should
// observe no output and exit status 0; it is a benchmark of the cheapest
// hypercall that reads guest memory.
func PutsLoop(n uint32) []byte { return x86Guest(putsLoop(n)) }

// WalltimeLoop issues n WALLTIME hypercalls, then halts with 0. The host
// should observe no output and exit status 0.
func WalltimeLoop(n uint32) []byte { return x86Guest(walltimeLoop(n)) }

// RawExitLoop does n 4-byte `out` to RawExitPort (EAX 0), then halts with
// 0. Only a monitor (or floor benchmark) that handles port 0x4ff specially
// runs it to the end; an hvt monitor should fail the run on the first
// `out` with an invalid port access naming port 0x4ff (for n == 0 it
// halts with 0 at once).
func RawExitLoop(n uint32) []byte { return build(rawExitLoopProg(n)) }

// rawExitLoopProg emits RawExitLoop.
func rawExitLoopProg(n uint32) func(*prog) {
	return func(p *prog) {
		p.loop(n, RawExitPort, 0)
		p.halt(guestabi.ExitSuccess)
	}
}

// BlockReadLoop declares BlockDeviceName and issues n BLOCK_READs of one
// block of bs bytes at offset 0, then halts with 0 (its block device must
// have block size bs); BlockWriteLoop the same with BLOCK_WRITE. The host
// should observe exit status 0: they are throughput benchmarks, and do
// not look at BLOCK_*'s result.
func BlockReadLoop(n, bs uint32) []byte {
	return x86Guest(blockLoop(guestabi.HypercallBlockRead, n, bs))
}

// BlockWriteLoop is BlockReadLoop with BLOCK_WRITE.
func BlockWriteLoop(n, bs uint32) []byte {
	return x86Guest(blockLoop(guestabi.HypercallBlockWrite, n, bs))
}

// NetWriteLoop declares NetDeviceName and sends NetEchoFrame n times
// (NET_WRITE), then halts with 0: a throughput benchmark.
func NetWriteLoop(n uint32) []byte { return x86Guest(netWriteLoop(n)) }

// NetReadLoop's POLLs: each waits at most NetReadLoopPollTimeout, and
// there are at most NetReadLoopMaxPolls of them, so a guest whose frames
// never come ends (with 1) within ten seconds instead of waiting for ever.
const (
	NetReadLoopPollTimeout = 10_000_000 // ns per POLL
	NetReadLoopMaxPolls    = 1000
)

// NetReadLoop declares NetDeviceName and takes n frames from it
// (NET_READ into a NetEchoBufSize buffer; a POLL whenever none is
// queued), then halts with 0, or with 1 once
// the polls run out: the receive direction's throughput benchmark.
func NetReadLoop(n uint32) []byte { return build(netReadLoopProg(n)) }

// netReadLoopProg emits NetReadLoop: RBX counts the frames still wanted,
// R12 the polls left; R9 holds the NET_READ struct, whose len the loop
// resets to the buffer's size before each read (an OK read leaves the
// frame's length there).
func netReadLoopProg(n uint32) func(*prog) {
	return func(p *prog) {
		p.declare(guestabi.Entry{Name: NetDeviceName, Type: guestabi.DeviceNetBasic})
		d := p.data()
		ps := d.put(&guestabi.Poll{TimeoutNsecs: NetReadLoopPollTimeout}, guestabi.PollSize)
		rs := d.reserve(guestabi.NetIOSize)
		buf := d.zero(NetEchoBufSize)
		d.set(rs, &guestabi.NetIO{Handle: 1, Data: uint64(buf), Len: NetEchoBufSize})
		a := &p.a
		a.MovImm32(RBX, n)
		a.MovImm32(R12, NetReadLoopMaxPolls)
		a.MovImm32(R9, rs)
		a.CmpImm(RBX, 0)
		a.Jcc(CondE, "done")
		a.Label("read")
		a.MovImm32(RAX, NetEchoBufSize)
		a.Store64(R9, 16, RAX)
		p.hypercall(guestabi.HypercallNetRead, rs)
		a.Load32(RAX, R9, 24) // ret
		a.CmpImm(RAX, int32(guestabi.ResultOK))
		a.Jcc(CondNE, "wait")
		a.Dec(RBX)
		a.Jcc(CondNZ, "read")
		a.Jmp("done")
		a.Label("wait")
		a.Dec(R12)
		a.Jcc(CondZ, "fail")
		p.hypercall(guestabi.HypercallPoll, ps)
		a.Jmp("read")
		a.Label("fail")
		p.halt(guestabi.ExitFailure)
		a.Label("done")
		p.halt(guestabi.ExitSuccess)
	}
}
