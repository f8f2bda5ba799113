package microguest

// A test-only interpreter for the x86_64 subset Asm emits, with a host that
// implements hypercalls as upstream solo5-hvt does (checked guest accesses
// with a strict end, handle checks before buffer checks, EINVAL for
// oversized block lengths). It lets the tests run every catalogue guest
// and compare what happens with what its doc comment promises, without
// /dev/kvm. The encodings themselves are checked against GNU as in
// asm_test.go, so this decoder is not the only judge of them.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/unimon/unimon/guestabi"
)

var le = binary.LittleEndian

// Ways a simulated run ends other than HALT. Errors wrap one of these.
var (
	errTripleFault = errors.New("triple fault")       // KVM_EXIT_SHUTDOWN on real hardware
	errWriteFault  = errors.New("write to read-only") // EFAULT or KVM_EXIT_MMIO on real KVM
	errBadPort     = errors.New("invalid guest port access")
	errBadAccess   = errors.New("invalid guest access") // upstream's HVT_CHECKED_GPA_P
	errBadCall     = errors.New("invalid guest hypercall")
	errSteps       = errors.New("step limit reached")
	errUnsupported = errors.New("instruction not supported by the simulator")
)

const (
	simCmdline = guestabi.ManifestAddr // the cmdline follows the manifest copy
	simNsecs   = 0x1122334455667788    // what WALLTIME returns
)

// host is the simulated monitor's state and record of what it saw.
type host struct {
	memSize uint64
	mft     *guestabi.Manifest
	stdout  bytes.Buffer
	calls   []guestabi.Hypercall
	polls   []uint64 // POLL timeouts
	disk    []byte   // backs the block device, if any
	sent    [][]byte // frames from NET_WRITE
	inbox   [][]byte // frames NET_READ will return
	reply   []byte   // queued into inbox when the guest sends a frame
	// againReads NET_READs return AGAIN whatever the inbox holds.
	againReads int
	rawPort    bool // count `out` to RawExitPort instead of failing
	rawExits   int
	badGPA     uint64 // the guest address of the failed check, for errBadAccess
	status     int32
}

// machine is one vCPU and its memory.
type machine struct {
	h        *host
	mem      []byte
	ro       []bool // per 4 KiB page: read-only to the guest
	regs     [16]uint64
	rip      uint64
	zf, cf   bool
	sf, of   bool
	idtLimit uint16
	halted   bool
}

// newMachine loads elfBytes into memSize bytes of memory the way an hvt
// monitor does (boot info, manifest copy and cmdline at 0x10000, RDI and
// RSP set) and attaches the host's devices to the manifest.
func newMachine(elfBytes []byte, memSize uint64, cmdline string, h *host) (*machine, error) {
	s, err := checkSolo5(elfBytes, memSize)
	if err != nil {
		return nil, err
	}
	h.memSize, h.mft = memSize, s.manifest
	m := &machine{h: h, mem: make([]byte, memSize), ro: make([]bool, memSize/guestabi.PageSize)}
	for _, p := range s.loads {
		copy(m.mem[p.Vaddr:], elfBytes[p.Off:p.Off+p.Filesz])
		if p.Flags&0x2 == 0 { // not PF_W
			for a := p.Vaddr; a < p.Vaddr+p.Memsz; a += guestabi.PageSize {
				m.ro[a/guestabi.PageSize] = true
			}
		}
	}
	for a := uint64(guestabi.BootInfoAddr); a < guestabi.GuestMinBase; a += guestabi.PageSize {
		m.ro[a/guestabi.PageSize] = true
	}
	mft := h.mft.Clone()
	for i := 1; i < len(mft.Entries); i++ {
		e := &mft.Entries[i]
		e.Attached = true
		if e.Type == guestabi.DeviceBlockBasic {
			e.Capacity, e.BlockSize = uint64(len(h.disk)), 512
		}
	}
	mb := mft.Encode()
	bi := guestabi.BootInfo{MemSize: memSize, Cmdline: uint64(guestabi.ManifestAddr + len(mb)), Manifest: guestabi.ManifestAddr}
	bi.Encode(m.mem[guestabi.BootInfoAddr:])
	copy(m.mem[guestabi.ManifestAddr:], mb)
	copy(m.mem[bi.Cmdline:], cmdline+"\x00")
	m.regs[RDI] = guestabi.BootInfoAddr
	m.regs[RSP] = memSize - 8
	m.rip = s.f.Entry
	return m, nil
}

// run executes until HALT, a fatal condition, or maxSteps instructions.
func (m *machine) run(maxSteps int) error {
	for i := 0; i < maxSteps; i++ {
		if err := m.step(); err != nil {
			return err
		}
		if m.halted {
			return nil
		}
	}
	return errSteps
}

// access checks a CPU access to [a, a+n): no page below 0x10000 is mapped
// and nothing above memory, which with no usable IDT means a triple fault.
func (m *machine) access(a uint64, n int, write bool) ([]byte, error) {
	if a < guestabi.BootInfoAddr || a+uint64(n) > uint64(len(m.mem)) || a+uint64(n) < a {
		return nil, fmt.Errorf("%w: page fault at %#x", errTripleFault, a)
	}
	if write && (m.ro[a/guestabi.PageSize] || m.ro[(a+uint64(n)-1)/guestabi.PageSize]) {
		return nil, fmt.Errorf("%w: gpa %#x, rip %#x", errWriteFault, a, m.rip)
	}
	return m.mem[a : a+uint64(n)], nil
}

func (m *machine) fetch(n int) ([]byte, error) {
	b, err := m.access(m.rip, n, false)
	m.rip += uint64(n)
	return b, err
}

func (m *machine) fetch8() (byte, error) {
	b, err := m.fetch(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (m *machine) fetch32() (uint32, error) {
	b, err := m.fetch(4)
	if err != nil {
		return 0, err
	}
	return le.Uint32(b), nil
}

// operand is a decoded ModRM r/m operand.
type operand struct {
	reg  int    // the ModRM reg field, REX.R included
	mem  bool   // r/m is memory at addr, else register rm
	rm   int    // with REX.B
	addr uint64 // effective address
}

// modrm decodes ModRM (and SIB, displacement). immLen is how many
// immediate bytes follow, which RIP-relative addressing must skip.
func (m *machine) modrm(rex byte, immLen int) (operand, error) {
	b, err := m.fetch8()
	if err != nil {
		return operand{}, err
	}
	mod, reg, rm := b>>6, int(b>>3&7), int(b&7)
	o := operand{reg: reg | int(rex>>2&1)<<3}
	if mod == 3 {
		o.rm = rm | int(rex&1)<<3
		return o, nil
	}
	o.mem = true
	if rm == 4 {
		sib, err := m.fetch8()
		if err != nil {
			return o, err
		}
		if sib != 0x24 { // Asm only ever emits base=RSP/R12, no index
			return o, fmt.Errorf("%w: SIB %#x", errUnsupported, sib)
		}
	}
	base := rm | int(rex&1)<<3
	switch {
	case mod == 0 && rm == 5:
		d, err := m.fetch32()
		if err != nil {
			return o, err
		}
		o.addr = m.rip + uint64(immLen) + uint64(int64(int32(d)))
		return o, nil
	case mod == 0:
		o.addr = m.regs[base]
	case mod == 1:
		d, err := m.fetch8()
		if err != nil {
			return o, err
		}
		o.addr = m.regs[base] + uint64(int64(int8(d)))
	case mod == 2:
		d, err := m.fetch32()
		if err != nil {
			return o, err
		}
		o.addr = m.regs[base] + uint64(int64(int32(d)))
	}
	return o, nil
}

func (m *machine) setReg(r int, v uint64, wide bool) {
	if !wide {
		v = uint64(uint32(v)) // 32-bit writes zero the upper half
	}
	m.regs[r] = v
}

func (m *machine) load(a uint64, n int) (uint64, error) {
	b, err := m.access(a, n, false)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 4:
		return uint64(le.Uint32(b)), nil
	}
	return le.Uint64(b), nil
}

func (m *machine) store(a uint64, n int, v uint64) error {
	b, err := m.access(a, n, true)
	if err != nil {
		return err
	}
	switch n {
	case 1:
		b[0] = byte(v)
	case 4:
		le.PutUint32(b, uint32(v))
	default:
		le.PutUint64(b, v)
	}
	return nil
}

// alu applies a 64-bit add, sub, cmp, xor or test and sets the flags.
func (m *machine) alu(op string, x, y uint64) uint64 {
	var r uint64
	switch op {
	case "add":
		r = x + y
		m.cf = r < x
		m.of = (^(x^y)&(x^r))>>63 != 0
	case "sub", "cmp":
		r = x - y
		m.cf = x < y
		m.of = ((x^y)&(x^r))>>63 != 0
	case "xor", "test":
		if op == "xor" {
			r = x ^ y
		} else {
			r = x & y
		}
		m.cf, m.of = false, false
	}
	m.zf, m.sf = r == 0, r>>63 != 0
	return r
}

func (m *machine) cond(c byte) bool {
	switch Cond(c) {
	case CondB:
		return m.cf
	case CondAE:
		return !m.cf
	case CondE:
		return m.zf
	case CondNE:
		return !m.zf
	case CondBE:
		return m.cf || m.zf
	case CondA:
		return !m.cf && !m.zf
	case CondL:
		return m.sf != m.of
	case CondGE:
		return m.sf == m.of
	case CondLE:
		return m.zf || m.sf != m.of
	case CondG:
		return !m.zf && m.sf == m.of
	}
	return false
}

func (m *machine) step() error {
	start := m.rip
	unsupported := func() error {
		b, _ := m.access(start, 4, false)
		return fmt.Errorf("%w: % x at %#x", errUnsupported, b, start)
	}
	op, err := m.fetch8()
	if err != nil {
		return err
	}
	if op == 0xf3 { // only as part of pause
		if op, err = m.fetch8(); err != nil || op != 0x90 {
			return unsupported()
		}
		return nil
	}
	var rex byte
	if op&0xf0 == 0x40 {
		rex = op
		if op, err = m.fetch8(); err != nil {
			return err
		}
	}
	w := rex&8 != 0
	size := 4
	if w {
		size = 8
	}
	switch {
	case op >= 0xb8 && op <= 0xbf: // mov r, imm32/imm64
		r := int(op&7) | int(rex&1)<<3
		b, err := m.fetch(size)
		if err != nil {
			return err
		}
		if w {
			m.regs[r] = le.Uint64(b)
		} else {
			m.regs[r] = uint64(le.Uint32(b))
		}
	case op == 0x89 || op == 0x88: // mov r/m, r
		o, err := m.modrm(rex, 0)
		if err != nil {
			return err
		}
		if op == 0x88 {
			if !o.mem || (rex == 0 && o.reg >= 4) { // AH..BH are not ours
				return unsupported()
			}
			return m.store(o.addr, 1, m.regs[o.reg])
		}
		if o.mem {
			return m.store(o.addr, size, m.regs[o.reg])
		}
		m.setReg(o.rm, m.regs[o.reg], w)
	case op == 0x8b: // mov r, r/m
		o, err := m.modrm(rex, 0)
		if err != nil {
			return err
		}
		if !o.mem {
			return unsupported()
		}
		v, err := m.load(o.addr, size)
		if err != nil {
			return err
		}
		m.setReg(o.reg, v, w)
	case op == 0x8d: // lea
		o, err := m.modrm(rex, 0)
		if err != nil || !o.mem || !w {
			return unsupported()
		}
		m.regs[o.reg] = o.addr
	case op == 0xc7: // mov dword [m], imm32
		o, err := m.modrm(rex, 4)
		if err != nil {
			return err
		}
		imm, err := m.fetch32()
		if err != nil {
			return err
		}
		if !o.mem || w || o.reg&7 != 0 {
			return unsupported()
		}
		return m.store(o.addr, 4, uint64(imm))
	case op == 0x01 || op == 0x29 || op == 0x39 || op == 0x31: // op r/m64, r64
		o, err := m.modrm(rex, 0)
		if err != nil || o.mem || !w {
			return unsupported()
		}
		name := map[byte]string{0x01: "add", 0x29: "sub", 0x39: "cmp", 0x31: "xor"}[op]
		r := m.alu(name, m.regs[o.rm], m.regs[o.reg])
		if name != "cmp" {
			m.regs[o.rm] = r
		}
	case op == 0x81 || op == 0x83 || op == 0xf7: // group 1 with imm, test r64, imm32
		immLen := 4
		if op == 0x83 {
			immLen = 1
		}
		o, err := m.modrm(rex, immLen)
		if err != nil || o.mem || !w {
			return unsupported()
		}
		var imm uint64
		if op == 0x83 {
			b, err := m.fetch8()
			if err != nil {
				return err
			}
			imm = uint64(int64(int8(b)))
		} else {
			v, err := m.fetch32()
			if err != nil {
				return err
			}
			imm = uint64(int64(int32(v)))
		}
		name, ok := map[int]string{0: "add", 5: "sub", 7: "cmp"}[o.reg&7]
		if op == 0xf7 {
			name, ok = "test", o.reg&7 == 0
		}
		if !ok {
			return unsupported()
		}
		r := m.alu(name, m.regs[o.rm], imm)
		if name == "add" || name == "sub" {
			m.regs[o.rm] = r
		}
	case op == 0xff: // inc/dec r64: flags as add/sub 1, but CF kept
		o, err := m.modrm(rex, 0)
		if err != nil || o.mem || !w || o.reg&7 > 1 {
			return unsupported()
		}
		cf := m.cf
		if o.reg&7 == 0 {
			m.regs[o.rm] = m.alu("add", m.regs[o.rm], 1)
		} else {
			m.regs[o.rm] = m.alu("sub", m.regs[o.rm], 1)
		}
		m.cf = cf
	case op == 0xe9:
		d, err := m.fetch32()
		if err != nil {
			return err
		}
		m.rip += uint64(int64(int32(d)))
	case op == 0xef || op == 0xee:
		n := 4
		if op == 0xee {
			n = 1
		}
		return m.h.out(m, uint16(m.regs[RDX]), n, uint32(m.regs[RAX]))
	case op == 0xf4:
		return fmt.Errorf("%w: hlt (an unhandled KVM_EXIT_HLT)", errUnsupported)
	case op == 0xfa || op == 0x90: // cli, nop
	case op == 0x0f:
		op2, err := m.fetch8()
		if err != nil {
			return err
		}
		switch {
		case op2 == 0x0b: // ud2
			if m.idtLimit == 0 {
				return fmt.Errorf("%w: #UD at %#x with no IDT", errTripleFault, start)
			}
			return unsupported()
		case op2 == 0x31: // rdtsc
			m.regs[RAX], m.regs[RDX] = 0x1234, 0
		case op2 == 0xb6: // movzx r32, byte [m]
			o, err := m.modrm(rex, 0)
			if err != nil || !o.mem {
				return unsupported()
			}
			v, err := m.load(o.addr, 1)
			if err != nil {
				return err
			}
			m.setReg(o.reg, v, false)
		case op2 == 0x01: // lgdt/lidt
			o, err := m.modrm(rex, 0)
			if err != nil || !o.mem || (o.reg&7 != 2 && o.reg&7 != 3) {
				return unsupported()
			}
			v, err := m.load(o.addr, 4) // limit in the low 16 bits
			if err != nil {
				return err
			}
			if o.reg&7 == 3 {
				m.idtLimit = uint16(v)
			}
		case op2 >= 0x80 && op2 <= 0x8f:
			d, err := m.fetch32()
			if err != nil {
				return err
			}
			if m.cond(op2 & 0xf) {
				m.rip += uint64(int64(int32(d)))
			}
		default:
			return unsupported()
		}
	default:
		return unsupported()
	}
	return nil
}

// checked is upstream's HVT_CHECKED_GPA_P: gpa < mem_size, no overflow,
// and gpa + n < mem_size (strictly).
func (h *host) checked(m *machine, call guestabi.Hypercall, gpa, n uint64) ([]byte, error) {
	if gpa >= h.memSize || gpa+n < gpa || gpa+n >= h.memSize {
		h.badGPA = gpa
		return nil, fmt.Errorf("%w: %v: gpa=%#x, sz=%#x", errBadAccess, call, gpa, n)
	}
	return m.mem[gpa : gpa+n], nil
}

// device returns the manifest entry handle refers to if it has type t.
func (h *host) device(handle uint64, t guestabi.DeviceType) bool {
	return handle < uint64(len(h.mft.Entries)) && h.mft.Entries[handle].Type == t
}

// out handles a port write as upstream's vCPU loop does.
func (h *host) out(m *machine, port uint16, size int, gpa32 uint32) error {
	if h.rawPort && port == RawExitPort && size == 4 {
		h.rawExits++
		return nil
	}
	if size != 4 || port < guestabi.PIOBase || port >= guestabi.PIOBase+guestabi.NumHypercalls {
		return fmt.Errorf("%w: port=%#x size=%d", errBadPort, port, size)
	}
	call := guestabi.Hypercall(port - guestabi.PIOBase)
	h.calls = append(h.calls, call)
	gpa := uint64(gpa32)
	var sz int
	switch call {
	case guestabi.HypercallWalltime:
		sz = guestabi.WalltimeSize
	case guestabi.HypercallPuts:
		sz = guestabi.PutsSize
	case guestabi.HypercallPoll:
		sz = guestabi.PollSize
	case guestabi.HypercallBlockWrite, guestabi.HypercallBlockRead:
		sz = guestabi.BlockIOSize
	case guestabi.HypercallNetWrite, guestabi.HypercallNetRead:
		sz = guestabi.NetIOSize
	case guestabi.HypercallHalt:
		sz = guestabi.HaltSize
	default:
		return fmt.Errorf("%w: num=%d", errBadCall, call)
	}
	arg, err := h.checked(m, call, gpa, uint64(sz))
	if err != nil {
		return err
	}
	switch call {
	case guestabi.HypercallWalltime:
		(&guestabi.Walltime{Nsecs: simNsecs}).Encode(arg)
	case guestabi.HypercallPuts:
		var p guestabi.Puts
		p.Decode(arg)
		b, err := h.checked(m, call, p.Data, p.Len)
		if err != nil {
			return err
		}
		h.stdout.Write(b)
	case guestabi.HypercallPoll:
		var p guestabi.Poll
		p.Decode(arg)
		h.polls = append(h.polls, p.TimeoutNsecs)
		p.ReadySet, p.Ret = 0, 0
		for _, i := range h.mft.Devices(guestabi.DeviceNetBasic) {
			if len(h.inbox) > 0 {
				p.ReadySet |= 1 << i
				p.Ret++
			}
		}
		p.Encode(arg)
	case guestabi.HypercallBlockWrite, guestabi.HypercallBlockRead:
		var io guestabi.BlockIO
		io.Decode(arg)
		capacity := uint64(len(h.disk))
		switch {
		case !h.device(io.Handle, guestabi.DeviceBlockBasic),
			io.Len > 1<<63-1, io.Offset >= capacity,
			io.Offset+io.Len < io.Offset, io.Offset+io.Len > capacity:
			io.Ret = guestabi.ResultEINVAL
		default:
			b, err := h.checked(m, call, io.Data, io.Len)
			if err != nil {
				return err
			}
			if call == guestabi.HypercallBlockWrite {
				copy(h.disk[io.Offset:], b)
			} else {
				copy(b, h.disk[io.Offset:])
			}
			io.Ret = guestabi.ResultOK
		}
		io.Encode(arg)
	case guestabi.HypercallNetWrite, guestabi.HypercallNetRead:
		var io guestabi.NetIO
		io.Decode(arg)
		if !h.device(io.Handle, guestabi.DeviceNetBasic) {
			io.Ret = guestabi.ResultEINVAL
			io.Encode(arg)
			return nil
		}
		b, err := h.checked(m, call, io.Data, io.Len)
		if err != nil {
			return err
		}
		switch {
		case call == guestabi.HypercallNetWrite:
			h.sent = append(h.sent, bytes.Clone(b))
			if h.reply != nil {
				h.inbox = append(h.inbox, h.reply)
			}
			io.Ret = guestabi.ResultOK
		case len(h.inbox) == 0 || h.againReads > 0:
			h.againReads--
			io.Ret = guestabi.ResultAgain // len left alone, as upstream
		default:
			n := copy(b, h.inbox[0])
			h.inbox = h.inbox[1:]
			io.Len, io.Ret = uint64(n), guestabi.ResultOK
		}
		io.Encode(arg)
	case guestabi.HypercallHalt:
		var hl guestabi.Halt
		hl.Decode(arg)
		if hl.Cookie != 0 {
			if _, err := h.checked(m, call, hl.Cookie, guestabi.HaltCookieMax); err != nil {
				return err
			}
		}
		h.status = hl.ExitStatus
		m.halted = true
	}
	return nil
}

// simulate runs a guest to its end in memSize bytes of memory.
func simulate(elfBytes []byte, memSize uint64, cmdline string, h *host) error {
	m, err := newMachine(elfBytes, memSize, cmdline, h)
	if err != nil {
		return err
	}
	return m.run(200_000)
}
