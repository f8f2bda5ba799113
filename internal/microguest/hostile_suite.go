package microguest

// The hostile-guest suite: every way this package knows for an x86_64
// guest (or its ELF) to attack the monitor, each a separate guest, for a
// test that runs them all in one process and checks the process stays
// healthy. The hypercall argument cases of Hostile are part of it; the
// rest is here: ports, MMIO, CPU state, hypercall structs over the
// guest's own boot structures and at the 4 GiB boundary, huge and
// negative lengths, offsets and timeouts, and malformed ELFs.

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/unimon/unimon/guestabi"
)

// HostileOutcome is what a monitor must do with a HostileGuest.
type HostileOutcome int

const (
	// OutcomeFault: the run ends with a guest fault (exit status 1).
	OutcomeFault HostileOutcome = iota + 1
	// OutcomeStatus: the guest halts with Status, the ABI allowing what it
	// did (a hypercall that returned an error in its struct, say).
	OutcomeStatus
	// OutcomeEnds: the guest corrupts its own machine state in a way whose
	// effect depends on the CPU (or on KVM's emulator): either a guest
	// fault or its own status is right; hanging or a host error is not.
	OutcomeEnds
	// OutcomeNeverEnds: the guest never halts on its own; the host must be
	// able to cancel it.
	OutcomeNeverEnds
	// OutcomeRefused: the ELF must be refused before the guest runs
	// (monitor.New fails), or, for files whose oddity the ABI allows,
	// load and end like OutcomeEnds.
	OutcomeRefused
)

// HostileGuest is one guest of HostileSuite.
type HostileGuest struct {
	Name string
	ELF  []byte
	// Block and Net: the guest declares BlockDeviceName or NetDeviceName,
	// which the host must attach (a block device of at least 1 KiB).
	Block, Net bool
	Want       HostileOutcome
	Status     int // for OutcomeStatus
}

// HostileSuite returns every hostile guest, x86_64 (the suite's host),
// with distinct names.
func HostileSuite() []HostileGuest {
	var s []HostileGuest
	for _, c := range HostileCases() {
		img, _ := Hostile(c.Call, c.Kind)
		g := HostileGuest{Name: c.Name(), ELF: img, Want: OutcomeFault,
			Block: isBlockCall(c.Call), Net: isDeviceCall(c.Call) && !isBlockCall(c.Call)}
		if !c.Fatal() {
			g.Want = OutcomeStatus
		}
		s = append(s, g)
	}
	s = append(s, portGuests()...)
	s = append(s, mmioGuests()...)
	s = append(s, cpuGuests()...)
	s = append(s, argGuests()...)
	s = append(s, elfGuests()...)
	return s
}

// hostilePorts are ports that are not hypercalls, around and far from
// the hvt range 0x500-0x508: a sample of 0-0xffff with both ends and
// every edge of the hypercall range.
var hostilePorts = []uint32{0, 1, 0x20, 0x60, 0x80, 0x3f8, 0x4ff, 0x500, 0x509, 0x50a, 0x50f, 0x510,
	0x5ff, 0x600, 0xcf8, 0x1000, 0x7fff, 0x8000, 0xfffe, 0xffff}

// OutPort does a 4-byte `out` to port with EAX the address of a zeroed
// HALT struct, then halts with 0. Outside the hypercall ports the host
// should end the run with an invalid port access naming port; on a
// hypercall port the hypercall runs with that struct (HALT halts with 0,
// WALLTIME writes its result and the guest halts with 0, the others fail
// as the host's configuration makes them).
func OutPort(port uint32) []byte {
	return build(func(p *prog) {
		h := p.d.put(&guestabi.Halt{}, guestabi.HaltSize)
		p.a.MovImm32(RDX, port)
		p.a.MovImm32(RAX, h)
		p.a.OutDXEAX()
		p.halt(guestabi.ExitSuccess)
	})
}

func portGuests() []HostileGuest {
	var s []HostileGuest
	for _, port := range hostilePorts {
		s = append(s, HostileGuest{Name: fmt.Sprintf("hostile-port-out-%#x", port), Want: OutcomeFault, ELF: OutPort(port)})
	}
	raw := func(name string, insn ...byte) HostileGuest {
		return HostileGuest{Name: name, Want: OutcomeFault, ELF: build(func(p *prog) {
			w := p.d.zero(guestabi.WalltimeSize)
			p.a.MovImm32(RDX, guestabi.PIOBase+uint32(guestabi.HypercallWalltime))
			p.a.MovImm32(RAX, w)
			p.a.MovImm32(RSI, w)
			p.a.MovImm32(RCX, 8)
			p.a.Bytes(insn)
			p.halt(guestabi.ExitSuccess)
		})}
	}
	return append(s,
		raw("hostile-port-in-dword-walltime", 0xed),       // in eax, dx
		raw("hostile-port-in-byte-walltime", 0xec),        // in al, dx
		raw("hostile-port-out-word-walltime", 0x66, 0xef), // out dx, ax
		raw("hostile-port-rep-outsb-walltime", 0xf3, 0x6e),
		raw("hostile-port-rep-insd-walltime", 0xf3, 0x6d),
	)
}

// mmioAddrs are guest-physical addresses with no memory behind them (the
// first runs at mem_size, read at run time; 0 stands for it), and ones
// the page tables do not map at all.
var mmioAddrs = []uint64{0, 0xc0000000, 0xfec00000, 0xfee00000, 0xfffff000, 0xfffffffc, 1 << 32, 1 << 39}

func mmioGuests() []HostileGuest {
	var s []HostileGuest
	for _, addr := range mmioAddrs {
		for _, store := range []bool{false, true} {
			name := fmt.Sprintf("hostile-mmio-load-%#x", addr)
			if store {
				name = fmt.Sprintf("hostile-mmio-store-%#x", addr)
			}
			if addr == 0 {
				name += "-mem-size"
			}
			s = append(s, HostileGuest{Name: name, Want: OutcomeFault, ELF: build(func(p *prog) {
				if addr == 0 {
					p.a.Load64(RBX, RDI, bootMemSize)
				} else {
					p.a.MovImm64(RBX, addr)
				}
				if store {
					p.a.Store32(RBX, 0, RAX)
				} else {
					p.a.Load32(RAX, RBX, 0)
				}
				p.halt(guestabi.ExitSuccess)
			})})
		}
	}
	return s
}

// cpuGuests break the machine state the monitor set up.
func cpuGuests() []HostileGuest {
	g := func(name string, want HostileOutcome, f func(p *prog)) HostileGuest {
		return HostileGuest{Name: "hostile-cpu-" + name, Want: want, ELF: build(func(p *prog) {
			f(p)
			p.halt(guestabi.ExitSuccess)
		})}
	}
	raw := func(name string, want HostileOutcome, setup func(a *Asm), insn ...byte) HostileGuest {
		return g(name, want, func(p *prog) {
			if setup != nil {
				setup(&p.a)
			}
			p.a.Bytes(insn)
		})
	}
	rax := func(v uint64) func(a *Asm) { return func(a *Asm) { a.MovImm64(RAX, v) } }
	table := func(name string, lgdt bool, base uint64, limit uint16) HostileGuest {
		return g(name, OutcomeEnds, func(p *prog) {
			d := make([]byte, 10)
			binary.LittleEndian.PutUint16(d, limit)
			binary.LittleEndian.PutUint64(d[2:], base)
			desc := p.d.bytes(d)
			p.a.MovImm32(RAX, desc)
			if lgdt {
				p.a.Lgdt(RAX)
				p.a.MovImm32(RAX, 0x10)
				p.a.Bytes([]byte{0x8e, 0xd8}) // mov ds, ax: reloads from the new GDT
			} else {
				p.a.Lidt(RAX)
				p.a.Ud2()
			}
		})
	}
	return []HostileGuest{
		raw("cli-hlt", OutcomeFault, nil, 0xfa, 0xf4),
		raw("sti-hlt", OutcomeFault, nil, 0xfb, 0xf4),
		raw("hlt", OutcomeFault, nil, 0xf4),
		raw("ud2", OutcomeFault, nil, 0x0f, 0x0b),
		raw("int3", OutcomeFault, nil, 0xcc),
		raw("div-zero", OutcomeFault, func(a *Asm) { a.Xor(RCX, RCX) }, 0x48, 0xf7, 0xf1),
		raw("syscall", OutcomeFault, nil, 0x0f, 0x05),
		raw("rdmsr-bogus", OutcomeFault, func(a *Asm) { a.MovImm32(RCX, 0xdeadbeef) }, 0x0f, 0x32),
		raw("wrmsr-efer-zero", OutcomeEnds, func(a *Asm) { a.MovImm32(RCX, 0xc0000080); a.Xor(RAX, RAX); a.Xor(RDX, RDX) }, 0x0f, 0x30),
		raw("cr3-zero", OutcomeEnds, rax(0), 0x0f, 0x22, 0xd8),
		raw("cr3-past-memory", OutcomeEnds, rax(0xfffff000), 0x0f, 0x22, 0xd8),
		raw("cr3-pml4-text", OutcomeEnds, rax(TextAddr), 0x0f, 0x22, 0xd8),
		raw("cr0-zero", OutcomeEnds, rax(0), 0x0f, 0x22, 0xc0),
		raw("cr4-zero", OutcomeEnds, rax(0), 0x0f, 0x22, 0xe0),
		raw("jmp-unmapped", OutcomeFault, rax(1<<40), 0xff, 0xe0),
		raw("jmp-mmio", OutcomeFault, rax(0xfee00000), 0xff, 0xe0),
		raw("jmp-non-canonical", OutcomeFault, rax(1<<63), 0xff, 0xe0),
		raw("push-rsp-zero", OutcomeFault, func(a *Asm) { a.Xor(RSP, RSP) }, 0x50, 0x50),
		raw("iretq-garbage", OutcomeFault, func(a *Asm) { a.MovImm32(RSP, 0x100) }, 0x48, 0xcf),
		raw("vmcall", OutcomeEnds, nil, 0x0f, 0x01, 0xc1),
		raw("xsetbv-bogus", OutcomeFault, func(a *Asm) { a.MovImm32(RCX, 7); a.Xor(RAX, RAX); a.Xor(RDX, RDX) }, 0x0f, 0x01, 0xd1),
		table("gdt-limit-zero", true, x86GDTBase, 0),
		table("gdt-past-memory", true, 0xfffff000, 0xffff),
		table("gdt-non-canonical", true, 1<<63, 0xffff),
		table("idt-limit-zero", false, 0, 0),
		table("idt-past-memory", false, 0xfffff000, 0xfff),
		// The guest overwrites its own GDT, then reloads a segment.
		g("gdt-overwrite", OutcomeEnds, func(p *prog) {
			p.a.MovImm32(RBX, x86GDTBase)
			p.a.MovImm64(RAX, 0xffffffffffffffff)
			p.a.Store64(RBX, 0x10, RAX)
			p.a.MovImm32(RAX, 0x10)
			p.a.Bytes([]byte{0x8e, 0xd8})
		}),
		// The guest zeroes its own PML4 entry: the next fetch faults.
		g("pml4-zero", OutcomeFault, func(p *prog) {
			p.a.MovImm32(RBX, x86PML4Base)
			p.a.Xor(RAX, RAX)
			p.a.Store64(RBX, 0, RAX)
			p.a.Bytes([]byte{0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8}) // reload CR3: flush the TLB
		}),
		{Name: "hostile-cpu-spin", Want: OutcomeNeverEnds, ELF: Spin()},
		{Name: "hostile-cpu-spin-cli", Want: OutcomeNeverEnds, ELF: build(func(p *prog) {
			p.a.Cli()
			p.a.Label("spin")
			p.a.Pause()
			p.a.Jmp("spin")
		})},
	}
}

// Where the monitor puts the x86_64 boot structures (monitor/x86_64),
// for guests that aim at them.
const (
	x86GDTBase  = 0x1000
	x86PML4Base = 0x2000
	x86PDBase   = 0x4000
)

// argGuests issue valid hypercalls whose structs or buffers land on the
// guest's own boot structures, at the edges of memory and of 32 bits, or
// carry huge and negative lengths, offsets and timeouts.
func argGuests() []HostileGuest {
	var s []HostileGuest
	// Output structs written over the guest's GDT, page tables, boot info
	// and page 0: the monitor writes where the guest asked (its own
	// memory), and the guest lives with the consequences.
	for _, t := range []struct {
		name string
		gpa  uint32
	}{{"page0", 0}, {"gdt", x86GDTBase}, {"pml4", x86PML4Base}, {"pd", x86PDBase}, {"bootinfo", guestabi.BootInfoAddr}, {"manifest", guestabi.ManifestAddr}} {
		for _, call := range []guestabi.Hypercall{guestabi.HypercallWalltime, guestabi.HypercallPoll} {
			s = append(s, HostileGuest{Name: fmt.Sprintf("hostile-arg-%s-over-%s", callName(call), t.name), Want: OutcomeEnds,
				ELF: build(func(p *prog) { p.hypercall(call, t.gpa); p.halt(guestabi.ExitSuccess) })})
		}
		s = append(s, HostileGuest{Name: "hostile-arg-block-read-into-" + t.name, Want: OutcomeEnds, Block: true,
			ELF: x86Guest(func(g code) {
				g.declare(guestabi.Entry{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic})
				st := g.data().put(&guestabi.BlockIO{Handle: 1, Data: uint64(t.gpa), Len: 512}, guestabi.BlockIOSize)
				g.hypercall(guestabi.HypercallBlockRead, st)
				g.halt(guestabi.ExitSuccess)
			})})
	}
	// Structs at the 4 GiB boundary and the top of a 32-bit address.
	for _, gpa := range []uint32{0xfffffff8, 0xffffffff, 0x80000000} {
		for _, call := range []guestabi.Hypercall{guestabi.HypercallPuts, guestabi.HypercallWalltime} {
			s = append(s, HostileGuest{Name: fmt.Sprintf("hostile-arg-%s-at-%#x", callName(call), gpa), Want: OutcomeFault,
				ELF: build(func(p *prog) { p.hypercall(call, gpa); p.halt(guestabi.ExitSuccess) })})
		}
	}
	// PUTS buffers: huge and negative lengths, and buffers at and across
	// 4 GiB.
	puts := []struct {
		name      string
		data, len uint64
	}{
		{"len-2^63", TextAddr, 1 << 63},
		{"len-minus-1", TextAddr, math.MaxUint64},
		{"len-4GiB", 0, 1 << 32},
		{"data-4GiB", 1 << 32, 1},
		{"data-below-4GiB-len-16", 0xfffffff8, 16},
		{"data-2^64-1", math.MaxUint64, 1},
	}
	for _, t := range puts {
		s = append(s, HostileGuest{Name: "hostile-arg-puts-" + t.name, Want: OutcomeFault, ELF: build(func(p *prog) {
			p.hypercall(guestabi.HypercallPuts, p.d.put(&guestabi.Puts{Data: t.data, Len: t.len}, guestabi.PutsSize))
			p.halt(guestabi.ExitSuccess)
		})})
	}
	// Block offsets and lengths the ABI rejects with EINVAL in ret: the
	// guest halts with that ret as its status (SOLO5_R_EINVAL, 2).
	blocks := []struct {
		name      string
		write     bool
		off, len_ uint64
	}{
		{"write-offset-negative", true, math.MaxUint64 - 511, 512},
		{"read-offset-2^63", false, 1 << 63, 512},
		{"read-offset-unaligned", false, 1, 512},
		{"write-len-unaligned", true, 0, 100},
		{"write-len-zero", true, 0, 0},
		{"read-past-capacity", false, 1 << 40, 512},
		{"read-len-minus-512", false, 0, math.MaxUint64 - 511},
	}
	for _, t := range blocks {
		call := guestabi.HypercallBlockRead
		if t.write {
			call = guestabi.HypercallBlockWrite
		}
		s = append(s, HostileGuest{Name: "hostile-arg-block-" + t.name, Want: OutcomeStatus, Status: int(guestabi.ResultEINVAL), Block: true,
			ELF: build(func(p *prog) {
				p.declare(guestabi.Entry{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic})
				buf := p.d.zero(512)
				st := p.d.put(&guestabi.BlockIO{Handle: 1, Offset: t.off, Data: uint64(buf), Len: t.len_}, guestabi.BlockIOSize)
				p.hypercall(call, st)
				haltWithRet(p, st, 32)
			})})
	}
	// POLL timeouts: zero returns at once; the largest never does, as
	// upstream (the host cancels it).
	s = append(s,
		HostileGuest{Name: "hostile-arg-poll-timeout-zero", Want: OutcomeStatus, ELF: PollTimeout(0)},
		HostileGuest{Name: "hostile-arg-poll-timeout-2^63", Want: OutcomeNeverEnds, ELF: PollTimeout(1 << 63)},
		HostileGuest{Name: "hostile-arg-poll-timeout-minus-1", Want: OutcomeNeverEnds, ELF: PollTimeout(math.MaxUint64)},
	)
	return s
}

// haltWithRet halts with the 32-bit ret field at off in the struct at st
// as the exit status, so the host sees what the hypercall answered.
func haltWithRet(p *prog, st uint32, off int32) {
	h := p.d.put(&guestabi.Halt{}, guestabi.HaltSize)
	p.a.MovImm32(RBX, st)
	p.a.Load32(RAX, RBX, off)
	p.a.MovImm32(RBX, h)
	p.a.Store32(RBX, 8, RAX) // struct hvt_hc_halt.exit_status
	p.hypercall(guestabi.HypercallHalt, h)
	p.a.Ud2()
}

func callName(c guestabi.Hypercall) string {
	n := []byte(c.String())
	for i, b := range n {
		switch {
		case b == '_':
			n[i] = '-'
		case b >= 'A' && b <= 'Z':
			n[i] = b + 'a' - 'A'
		}
	}
	return string(n)
}

// elfGuests are malformed unikernel files, made by breaking a valid one.
func elfGuests() []HostileGuest {
	base := Exit(0)
	le := binary.LittleEndian
	const ehdr, phent = 64, 56
	phoff := le.Uint64(base[32:])
	phnum := int(le.Uint16(base[56:]))
	ph := func(b []byte, i int) []byte { return b[phoff+uint64(i*phent):][:phent] }
	mut := func(name string, f func(b []byte) []byte) HostileGuest {
		b := f(append([]byte(nil), base...))
		return HostileGuest{Name: "hostile-elf-" + name, ELF: b, Want: OutcomeRefused}
	}
	firstOf := func(b []byte, typ elf.ProgType) int {
		for i := range phnum {
			if elf.ProgType(le.Uint32(ph(b, i))) == typ {
				return i
			}
		}
		panic("microguest: no such program header")
	}
	manyPhdrs := func(n int) func(b []byte) []byte {
		return func(b []byte) []byte {
			table := append([]byte(nil), b[phoff:phoff+uint64(phnum*phent)]...)
			table = append(table, make([]byte, (n-phnum)*phent)...) // PT_NULL
			le.PutUint64(b[32:], uint64(len(b)))
			le.PutUint16(b[56:], uint16(n))
			return append(b, table...)
		}
	}
	manifest := func(name string, m *guestabi.Manifest, breakIt func(mft []byte)) HostileGuest {
		b := ELF(Guest{Text: []byte{0x0f, 0x0b}, Manifest: m})
		if breakIt != nil {
			enc := m.Encode()
			at := bytes.Index(b, enc)
			breakIt(b[at : at+len(enc)])
		}
		return HostileGuest{Name: "hostile-elf-manifest-" + name, ELF: b, Want: OutcomeRefused}
	}
	devs := func(n int) *guestabi.Manifest {
		var es []guestabi.Entry
		for i := range n {
			es = append(es, guestabi.Entry{Name: fmt.Sprintf("blk%d", i), Type: guestabi.DeviceBlockBasic})
		}
		return guestabi.NewManifest(es...)
	}
	return []HostileGuest{
		mut("zero-bytes", func([]byte) []byte { return nil }),
		mut("header-only", func(b []byte) []byte { return b[:ehdr] }),
		mut("truncated-phdrs", func(b []byte) []byte { return b[:phoff+phent/2] }),
		mut("not-elf", func(b []byte) []byte { copy(b, "#!/bin/sh\n"); return b }),
		mut("class32", func(b []byte) []byte { b[4] = byte(elf.ELFCLASS32); return b }),
		mut("big-endian", func(b []byte) []byte { b[5] = byte(elf.ELFDATA2MSB); return b }),
		mut("machine-aarch64", func(b []byte) []byte { le.PutUint16(b[18:], uint16(elf.EM_AARCH64)); return b }),
		mut("type-rel", func(b []byte) []byte { le.PutUint16(b[16:], uint16(elf.ET_REL)); return b }),
		mut("phentsize-32", func(b []byte) []byte { le.PutUint16(b[54:], 32); return b }),
		mut("phoff-past-end", func(b []byte) []byte { le.PutUint64(b[32:], 1<<40); return b }),
		mut("10000-phdrs", manyPhdrs(10000)),
		mut("65535-phdrs", manyPhdrs(65535)),
		mut("entry-outside-text", func(b []byte) []byte { le.PutUint64(b[24:], 0xdead0000); return b }),
		mut("entry-below-min-base", func(b []byte) []byte { le.PutUint64(b[24:], 0x1000); return b }),
		mut("load-3.9GiB", func(b []byte) []byte {
			le.PutUint64(ph(b, firstOf(b, elf.PT_LOAD))[40:], 0xf9999999) // p_memsz
			return b
		}),
		mut("load-filesz-over-memsz", func(b []byte) []byte {
			p := ph(b, firstOf(b, elf.PT_LOAD))
			le.PutUint64(p[32:], le.Uint64(p[40:])+4096) // p_filesz
			return b
		}),
		mut("load-offset-past-end", func(b []byte) []byte { le.PutUint64(ph(b, firstOf(b, elf.PT_LOAD))[8:], 1<<40); return b }),
		mut("load-vaddr-wraps", func(b []byte) []byte {
			p := ph(b, firstOf(b, elf.PT_LOAD))
			le.PutUint64(p[16:], math.MaxUint64-0xfff) // p_vaddr
			le.PutUint64(p[24:], math.MaxUint64-0xfff) // p_paddr
			return b
		}),
		mut("load-over-boot-info", func(b []byte) []byte {
			p := ph(b, firstOf(b, elf.PT_LOAD))
			le.PutUint64(p[16:], guestabi.BootInfoAddr)
			le.PutUint64(p[24:], guestabi.BootInfoAddr)
			return b
		}),
		mut("notes-overlapping", func(b []byte) []byte {
			// Both PT_NOTEs over the same bytes: the ABI1 note twice and no
			// manifest.
			first := firstOf(b, elf.PT_NOTE)
			for i := first + 1; i < phnum; i++ {
				if elf.ProgType(le.Uint32(ph(b, i))) == elf.PT_NOTE {
					copy(ph(b, i), ph(b, first))
				}
			}
			return b
		}),
		mut("note-size-huge", func(b []byte) []byte { le.PutUint64(ph(b, firstOf(b, elf.PT_NOTE))[32:], 1<<40); return b }),
		mut("note-namesz-huge", func(b []byte) []byte {
			off := le.Uint64(ph(b, firstOf(b, elf.PT_NOTE))[8:])
			le.PutUint32(b[off:], 0xfffffff0) // n_namesz
			return b
		}),
		mut("note-descsz-huge", func(b []byte) []byte {
			off := le.Uint64(ph(b, firstOf(b, elf.PT_NOTE))[8:])
			le.PutUint32(b[off+4:], 0xfffffff0) // n_descsz
			return b
		}),
		manifest("64-entries", devs(guestabi.ManifestMaxDevices), nil),
		manifest("count-65", devs(3), func(m []byte) { le.PutUint32(m[4:], guestabi.ManifestMaxEntries+1) }),
		manifest("count-zero", devs(1), func(m []byte) { le.PutUint32(m[4:], 0) }),
		manifest("count-huge", devs(1), func(m []byte) { le.PutUint32(m[4:], math.MaxUint32) }),
		manifest("name-without-nul", devs(1), func(m []byte) {
			e := m[guestabi.ManifestHeaderSize+guestabi.ManifestEntrySize:]
			for i := range guestabi.DeviceNameSize {
				e[i] = 'x'
			}
		}),
		manifest("bad-type", devs(1), func(m []byte) {
			le.PutUint32(m[guestabi.ManifestHeaderSize+guestabi.ManifestEntrySize+guestabi.EntryTypeOff:], 99)
		}),
		manifest("duplicate-names", devs(2), func(m []byte) {
			e1 := m[guestabi.ManifestHeaderSize+guestabi.ManifestEntrySize:]
			copy(e1[guestabi.ManifestEntrySize:][:guestabi.DeviceNameSize], e1[:guestabi.DeviceNameSize])
		}),
		manifest("version-99", devs(1), func(m []byte) { le.PutUint32(m[0:], 99) }),
	}
}
