package microguest

// The aarch64 guests: the aarch64 builder of the programs written once for
// both architectures (catalogue.go, hostile.go) and their A64*
// constructors, plus the aarch64-only failure shapes (an MMIO access that
// is not a hypercall, PSCI calls). The file name avoids the _arm64
// suffix on purpose: that would be a build constraint, and these are bytes
// every host must be able to produce.
//
// Every guest starts with `mov x19, x0`, keeping the boot info pointer in
// a register the code never clobbers, and issues hypercalls the hvt way:
// `str w0, [x1]` with x1 = 0x1_0000_0000 + nr<<3 and w0 the 32-bit GPA of
// the argument struct.

import (
	"debug/elf"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

// a64prog is an aarch64 guest under construction: its code, and its data
// and devices (image). It implements code for the guests written once.
type a64prog struct {
	image
	a      A64
	labels int // for labels the helpers make up
}

// label returns a label name not used before in p.
func (p *a64prog) label(prefix string) string {
	p.labels++
	return fmt.Sprintf("%s.%d", prefix, p.labels)
}

// bootInfo is the register holding the boot info pointer.
const bootInfo = X19

// mmioAddr is the hvt MMIO address of call.
func mmioAddr(call guestabi.Hypercall) uint64 {
	return guestabi.MMIOBase + uint64(call)*guestabi.MMIOStride
}

// hypercall issues call with the argument struct at arg. It clobbers x0
// and x1 only.
func (p *a64prog) hypercall(call guestabi.Hypercall, arg uint32) {
	p.a.MovImm(X1, mmioAddr(call))
	p.a.MovImm(X0, uint64(arg))
	p.a.StoreW(X0, X1, 0)
}

// halt ends the guest with status. What follows only runs if a monitor
// wrongly resumes the guest after HALT: a store to 0x1_0000_0000, which is
// not a hypercall address, so a correct monitor fails loudly. (An
// undefined instruction would not do: with no vector table the exception
// loops inside the guest without ever exiting to the monitor.)
func (p *a64prog) halt(status int32) {
	p.hypercall(guestabi.HypercallHalt, p.d.put(&guestabi.Halt{ExitStatus: status}, guestabi.HaltSize))
	p.a.MovImm(X1, guestabi.MMIOBase)
	p.a.StoreW(X0, X1, 0)
	l := p.label("after-halt")
	p.a.Label(l)
	p.a.B(l)
}

// putsCmdline implements code.
func (p *a64prog) putsCmdline(line uint32) {
	a := &p.a
	a.LoadX(X2, bootInfo, bootCmdline) // x2 = start of the command line
	a.Mov(X3, X2)                      // x3 = cursor
	a.MovImm(X4, guestabi.CmdlineSize-1)
	a.Label("scan")
	a.LoadB(X5, X3, 0)
	a.Cbz(X5, "found")
	a.AddImm(X3, X3, 1)
	a.SubsImm(X4, X4, 1)
	a.BCond(A64NE, "scan")
	a.Label("found")
	a.Sub(X3, X3, X2) // length
	a.MovImm(X6, uint64(line))
	a.StoreX(X2, X6, 0)
	a.StoreX(X3, X6, 8)
}

// hypercallBelowMem implements code.
func (p *a64prog) hypercallBelowMem(call guestabi.Hypercall, k uint32) {
	a := &p.a
	a.LoadX(X0, bootInfo, bootMemSize)
	if k != 0 {
		a.SubImm(X0, X0, k) // fits in w0: memory is at most 4 GiB
	}
	a.MovImm(X1, mmioAddr(call))
	a.StoreW(X0, X1, 0)
}

// storeBelowMem implements code.
func (p *a64prog) storeBelowMem(base, off, k uint32) {
	a := &p.a
	a.LoadX(X2, bootInfo, bootMemSize)
	if k != 0 {
		a.SubImm(X2, X2, k)
	}
	a.MovImm(X3, uint64(base))
	a.StoreX(X2, X3, off)
}

// hypercallLoop implements code. Setting x0 and x1 once outside the loop
// relies on the monitor not changing guest registers on an MMIO exit; the
// loop is three instructions per exit.
func (p *a64prog) hypercallLoop(n uint32, call guestabi.Hypercall, arg uint32) {
	a := &p.a
	a.MovImm(X2, uint64(n))
	a.MovImm(X1, mmioAddr(call))
	a.MovImm(X0, uint64(arg))
	a.Cbz(X2, "done")
	a.Label("loop")
	a.StoreW(X0, X1, 0)
	a.SubsImm(X2, X2, 1)
	a.BCond(A64NE, "loop")
	a.Label("done")
}

// receive implements code. The count and the struct addresses live in
// x20..x22, which the hypercalls (x0, x1) leave alone.
func (p *a64prog) receive(tries, poll, read, out uint32, timeout func()) {
	a := &p.a
	a.MovImm(X20, uint64(tries))
	a.MovImm(X21, uint64(poll))
	a.MovImm(X22, uint64(read))
	a.Label("poll")
	p.hypercall(guestabi.HypercallPoll, poll)
	a.LoadX(X2, X21, 8) // ready_set
	a.Tbz(X2, 1, "next")
	p.hypercall(guestabi.HypercallNetRead, read)
	a.LoadW(X2, X22, 24) // ret
	a.Cbz(X2, "got")     // SOLO5_R_OK
	a.Label("next")
	a.SubsImm(X20, X20, 1)
	a.BCond(A64NE, "poll")
	timeout()

	a.Label("got")
	a.LoadX(X2, X22, 16) // frame length
	a.MovImm(X3, uint64(out))
	a.StoreX(X2, X3, 8)
}

// buildA64 is build for aarch64 guests: every guest starts with the boot
// info pointer moved to bootInfo, then f; see layout.
func buildA64(f func(p *a64prog)) []byte {
	p := layout(func(zeroBase int) *a64prog {
		p := &a64prog{image: image{d: dataSeg{zeroBase: zeroBase}}}
		p.a.Mov(bootInfo, X0)
		return p
	}, f)
	text, err := p.a.Finish()
	if err != nil {
		panic(fmt.Sprintf("microguest: aarch64 catalogue guest does not assemble: %v", err))
	}
	return p.link(elf.EM_AARCH64, text)
}

// a64Guest builds a guest written once for both architectures for aarch64.
func a64Guest(g func(code)) []byte { return buildA64(on[*a64prog](g)) }

// A64Hello is Hello for aarch64: it prints HelloText, the command line and
// "\n", and halts with 0.
func A64Hello() []byte { return a64Guest(hello) }

// A64Exit halts at once with status.
func A64Exit(status int32) []byte { return a64Guest(exit(status)) }

// A64Walltime is Walltime for aarch64: WALLTIME, then the 8 raw bytes of
// the struct on the console, then HALT(0).
func A64Walltime() []byte { return a64Guest(walltime) }

// A64PollTimeout is PollTimeout for aarch64: POLL with a timeout of ns,
// then the 24-byte struct on the console, then HALT(0).
func A64PollTimeout(ns uint64) []byte { return a64Guest(pollTimeout(ns)) }

// A64BlockRoundTrip is BlockRoundTrip for aarch64, with the same device,
// geometry and output (592 bytes).
func A64BlockRoundTrip() []byte { return a64Guest(blockRoundTrip) }

// A64NetEcho is NetEcho for aarch64: it sends NetEchoFrame, polls up to
// NetEchoMaxPolls times for a frame, prints the first one it reads and
// halts with 0, or halts with 1 if none arrives.
func A64NetEcho() []byte { return a64Guest(netEcho) }

// A64PutsLoop is PutsLoop for aarch64: n zero-length PUTS, then HALT(0).
func A64PutsLoop(n uint32) []byte { return a64Guest(putsLoop(n)) }

// A64WalltimeLoop is WalltimeLoop for aarch64: n WALLTIME, then HALT(0).
func A64WalltimeLoop(n uint32) []byte { return a64Guest(walltimeLoop(n)) }

// A64Hostile is Hostile for aarch64: the same cases, the same devices,
// the same expected observations (see Hostile and HostileCase.Fatal).
func A64Hostile(call guestabi.Hypercall, kind HostileKind) ([]byte, error) {
	g, err := hostileGuest(call, kind)
	if err != nil {
		return nil, err
	}
	return a64Guest(g), nil
}

// A64Spin loops forever (`b .`) without a single exit.
func A64Spin() []byte { return buildA64(a64Spin) }

func a64Spin(p *a64prog) {
	p.a.Label("spin")
	p.a.B("spin")
}

// A64WriteText stores 8 bytes into its own text page, which the monitor
// maps read-only on the host (the guest's own page tables allow the
// write). The host should observe the run failing with a guest write to
// read-only memory, with no output; a monitor that left text writable
// would see the guest halt with 0.
func A64WriteText() []byte { return buildA64(a64WriteText) }

func a64WriteText(p *a64prog) {
	p.a.Adr(X2, "target")
	p.a.StoreX(X2, X2, 0)
	p.halt(guestabi.ExitSuccess)
	p.a.Label("target")
	p.a.Word(0)
	p.a.Word(0)
}

// A64BadMMIOAddr is the number of the MMIO address A64BadMMIO stores to:
// one past HALT, the aarch64 counterpart of BadPort's port 0x509.
const A64BadMMIOAddr = guestabi.MMIOBase + guestabi.NumHypercalls*guestabi.MMIOStride

// A64BadMMIO does a 4-byte store to A64BadMMIOAddr with w0 the address of
// a valid HALT struct. The host should observe the run failing with an
// invalid MMIO access naming that address, with no output; a monitor that
// took it for a hypercall would halt with 0.
func A64BadMMIO() []byte { return buildA64(a64BadMMIO) }

func a64BadMMIO(p *a64prog) {
	h := p.d.put(&guestabi.Halt{}, guestabi.HaltSize)
	p.a.MovImm(X1, A64BadMMIOAddr)
	p.a.MovImm(X0, uint64(h))
	p.a.StoreW(X0, X1, 0)
	p.halt(guestabi.ExitSuccess)
}

// A64MMIORead loads 4 bytes from the WALLTIME hypercall address instead of
// storing to it. The host should observe the run failing with an invalid
// MMIO access (a read) naming 0x1_0000_0008, with no output.
func A64MMIORead() []byte { return buildA64(a64MMIORead) }

func a64MMIORead(p *a64prog) {
	p.a.MovImm(X1, mmioAddr(guestabi.HypercallWalltime))
	p.a.LoadW(X0, X1, 0)
	p.halt(guestabi.ExitSuccess)
}

// PSCI 0.2 function IDs (SMC32 calling convention) the PSCI guests use.
const (
	PSCISystemOff   = 0x8400_0008
	PSCISystemReset = 0x8400_0009
)

// A64PSCI calls the PSCI function fn with `hvc #0` and, should the call
// return, halts with 0. For PSCISystemOff and PSCISystemReset the host
// should observe the run failing with an error naming the PSCI call (KVM
// turns both into system events), with no output.
func A64PSCI(fn uint32) []byte { return buildA64(a64PSCI(fn)) }

func a64PSCI(fn uint32) func(*a64prog) {
	return func(p *a64prog) {
		p.a.MovImm(X0, uint64(fn))
		p.a.Hvc(0)
		p.halt(guestabi.ExitSuccess)
	}
}

// A64BootInfo prints the 56-byte boot info block as the monitor wrote it
// and halts with 0, so the host can check mem_size, cpu_cycle_freq and
// the manifest and command line addresses.
func A64BootInfo() []byte { return buildA64(a64BootInfo) }

func a64BootInfo(p *a64prog) {
	puts(p, guestabi.BootInfoAddr, guestabi.BootInfoSize)
	p.halt(guestabi.ExitSuccess)
}

// A64MMIONoSyndrome stores w0 (the address of a valid HALT struct) to the
// HALT hypercall address with a post-indexed store, `str w0, [x1], #4`.
// The address and size are right, but the writeback form gives the
// hypervisor no instruction syndrome to emulate the access with. The host
// should observe the run failing with an error naming the access, with no
// output; a monitor that guessed at it would halt with 0.
func A64MMIONoSyndrome() []byte { return buildA64(a64MMIONoSyndrome) }

func a64MMIONoSyndrome(p *a64prog) {
	h := p.d.put(&guestabi.Halt{}, guestabi.HaltSize)
	p.a.MovImm(X1, mmioAddr(guestabi.HypercallHalt))
	p.a.MovImm(X0, uint64(h))
	p.a.Word(0xb8004420) // str w0, [x1], #4
	p.halt(guestabi.ExitSuccess)
}

// A64StackTop checks the entry stack and the top of guest memory: it
// stores x19 (the boot info pointer) at [sp, #8], the last 8 bytes of
// guest memory since SP_EL1 starts at mem_size-16, loads it back, and also
// checks that SP is mem_size-16 as boot_info.mem_size gives it. It halts
// with 0 if all holds and with 1 otherwise; a mapping missing at the top
// of memory would fault instead (and, with no vector table, spin).
func A64StackTop() []byte { return buildA64(a64StackTop) }

func a64StackTop(p *a64prog) {
	a := &p.a
	a.StoreX(bootInfo, SP, 8)
	a.LoadX(X2, SP, 8)
	a.Cmp(X2, bootInfo)
	a.BCond(A64NE, "bad")
	a.LoadX(X3, bootInfo, bootMemSize)
	a.SubImm(X3, X3, 16)
	a.AddImm(X4, SP, 0) // mov x4, sp: ADD is the form that reads SP
	a.Cmp(X3, X4)
	a.BCond(A64NE, "bad")
	p.halt(guestabi.ExitSuccess)
	a.Label("bad")
	p.halt(guestabi.ExitFailure)
}

// A64FPU moves x19 through the FP/SIMD register d0 and back, and halts
// with 0 if it survived. It checks that the monitor turned on FP/SIMD
// (CPACR_EL1.FPEN), as Solo5 guests expect: otherwise the first FP
// instruction traps and, with no vector table, the guest spins until the
// host stops it.
func A64FPU() []byte { return buildA64(a64FPU) }

// The FP/SIMD moves the FPU guests make (the assembler has no FP forms).
const (
	fmovD0X19 = 0x9e670260 // fmov d0, x19
	fmovX2D0  = 0x9e660002 // fmov x2, d0
)

func a64FPU(p *a64prog) {
	a := &p.a
	a.Word(fmovD0X19)
	a.Word(fmovX2D0)
	a.Cmp(X2, bootInfo)
	a.BCond(A64NE, "bad")
	p.halt(guestabi.ExitSuccess)
	a.Label("bad")
	p.halt(guestabi.ExitFailure)
}

// A64FPUAbort puts x19, the boot info address, in the FP/SIMD register
// d0 and aborts (HALT 255): the host should find
// guestabi.BootInfoAddr in the low half of v0 in a core of it.
func A64FPUAbort() []byte {
	return buildA64(func(p *a64prog) {
		p.a.Word(fmovD0X19)
		p.halt(guestabi.ExitAbort)
	})
}

// A64MMUOffAbort turns stage-1 translation off (SCTLR_EL1.M = 0; the
// monitor's tables map the code to itself, so execution goes on at the
// next instruction) and aborts (HALT 255). A core of it cannot come from
// the guest's tables: the host should find guest-physical memory at its
// own addresses, as upstream dumps it.
func A64MMUOffAbort() []byte {
	return buildA64(func(p *a64prog) {
		p.a.Word(0xd5381000) // mrs x0, sctlr_el1
		p.a.Word(0x927ff800) // and x0, x0, #~1
		p.a.Word(0xd5181000) // msr sctlr_el1, x0
		p.a.Word(0xd5033fdf) // isb
		p.halt(guestabi.ExitAbort)
	})
}

// A64GICProbe asks for an irqchip (unimon's feature note). If the boot
// info's host features say the monitor created one, it reads the
// architecture revision from GICD_PIDR2 of the distributor at
// guestabi.GICDistBase (an access KVM serves in the kernel) and halts
// with it: 3 for a GICv3. Otherwise it halts with 100 without touching
// the GIC's addresses.
func A64GICProbe() []byte { return buildA64(a64GICProbe) }

// A64GICProbeNoRequest is A64GICProbe without the feature note: the
// monitor must not create a GIC, so it halts with 100.
func A64GICProbeNoRequest() []byte {
	return buildA64(func(p *a64prog) { a64GICProbe(p); p.request = 0 })
}

// A64GICProbeNoGIC is the status of A64GICProbe when no GIC was given.
const A64GICProbeNoGIC = 100

func a64GICProbe(p *a64prog) {
	p.request = guestabi.RequestIRQChip
	a := &p.a
	h := p.d.put(&guestabi.Halt{}, guestabi.HaltSize)
	a.LoadW(X2, bootInfo, 40) // host_features
	a.Tbz(X2, 16, "nogic")    // guestabi.FeatureIRQChip
	a.MovImm(X1, guestabi.GICDistBase+0xffe8)
	a.LoadW(X2, X1, 0)
	a.Word(0xd3441c42) // ubfx x2, x2, #4, #4: GICD_PIDR2.ArchRev
	a.MovImm(X3, uint64(h))
	a.StoreW(X2, X3, 8)
	p.hypercall(guestabi.HypercallHalt, h)
	p.halt(guestabi.ExitFailure)
	a.Label("nogic")
	p.halt(A64GICProbeNoGIC)
}
