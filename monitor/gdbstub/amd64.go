//go:build amd64

package gdbstub

import (
	"encoding/binary"
	"fmt"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
	"github.com/unimon/unimon/monitor/x86_64"
)

// amd64Regs are the registers of amd64XML, in order, with their sizes:
// gdb's own amd64 core, SSE and segment-base features, then the control
// registers a unikernel's developer needs (paging, faults).
var amd64Regs = func() []int {
	var r []int
	add := func(size, n int) {
		for range n {
			r = append(r, size)
		}
	}
	add(8, 17) // rax-r15, rip
	add(4, 7)  // eflags, cs, ss, ds, es, fs, gs
	add(10, 8) // st0-st7
	add(4, 8)  // fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop
	add(16, 16)
	add(4, 1) // mxcsr
	add(8, 2) // fs_base, gs_base
	add(8, 6) // cr0, cr2, cr3, cr4, cr8, efer
	return r
}()

// rflagsTF is the trap flag: one instruction, then #DB.
const rflagsTF = 1 << 8

// Register numbers of amd64XML that SetRegister changes.
const (
	regRIP    = 16
	regEFLAGS = 17
	regST0    = 24
	regXMM0   = 40
	regMXCSR  = 56
)

const amd64XML = `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>i386:x86-64</architecture>
<feature name="org.gnu.gdb.i386.core">
<reg name="rax" bitsize="64" type="int64"/>
<reg name="rbx" bitsize="64" type="int64"/>
<reg name="rcx" bitsize="64" type="int64"/>
<reg name="rdx" bitsize="64" type="int64"/>
<reg name="rsi" bitsize="64" type="int64"/>
<reg name="rdi" bitsize="64" type="int64"/>
<reg name="rbp" bitsize="64" type="data_ptr"/>
<reg name="rsp" bitsize="64" type="data_ptr"/>
<reg name="r8" bitsize="64" type="int64"/>
<reg name="r9" bitsize="64" type="int64"/>
<reg name="r10" bitsize="64" type="int64"/>
<reg name="r11" bitsize="64" type="int64"/>
<reg name="r12" bitsize="64" type="int64"/>
<reg name="r13" bitsize="64" type="int64"/>
<reg name="r14" bitsize="64" type="int64"/>
<reg name="r15" bitsize="64" type="int64"/>
<reg name="rip" bitsize="64" type="code_ptr"/>
<reg name="eflags" bitsize="32" type="int32"/>
<reg name="cs" bitsize="32" type="int32"/>
<reg name="ss" bitsize="32" type="int32"/>
<reg name="ds" bitsize="32" type="int32"/>
<reg name="es" bitsize="32" type="int32"/>
<reg name="fs" bitsize="32" type="int32"/>
<reg name="gs" bitsize="32" type="int32"/>
<reg name="st0" bitsize="80" type="i387_ext"/>
<reg name="st1" bitsize="80" type="i387_ext"/>
<reg name="st2" bitsize="80" type="i387_ext"/>
<reg name="st3" bitsize="80" type="i387_ext"/>
<reg name="st4" bitsize="80" type="i387_ext"/>
<reg name="st5" bitsize="80" type="i387_ext"/>
<reg name="st6" bitsize="80" type="i387_ext"/>
<reg name="st7" bitsize="80" type="i387_ext"/>
<reg name="fctrl" bitsize="32" type="int" group="float"/>
<reg name="fstat" bitsize="32" type="int" group="float"/>
<reg name="ftag" bitsize="32" type="int" group="float"/>
<reg name="fiseg" bitsize="32" type="int" group="float"/>
<reg name="fioff" bitsize="32" type="int" group="float"/>
<reg name="foseg" bitsize="32" type="int" group="float"/>
<reg name="fooff" bitsize="32" type="int" group="float"/>
<reg name="fop" bitsize="32" type="int" group="float"/>
</feature>
<feature name="org.gnu.gdb.i386.sse">
<vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128">
<field name="v4_float" type="v4f"/>
<field name="v2_double" type="v2d"/>
<field name="v16_int8" type="v16i8"/>
<field name="v8_int16" type="v8i16"/>
<field name="v4_int32" type="v4i32"/>
<field name="v2_int64" type="v2i64"/>
<field name="uint128" type="uint128"/>
</union>
<reg name="xmm0" bitsize="128" type="vec128"/>
<reg name="xmm1" bitsize="128" type="vec128"/>
<reg name="xmm2" bitsize="128" type="vec128"/>
<reg name="xmm3" bitsize="128" type="vec128"/>
<reg name="xmm4" bitsize="128" type="vec128"/>
<reg name="xmm5" bitsize="128" type="vec128"/>
<reg name="xmm6" bitsize="128" type="vec128"/>
<reg name="xmm7" bitsize="128" type="vec128"/>
<reg name="xmm8" bitsize="128" type="vec128"/>
<reg name="xmm9" bitsize="128" type="vec128"/>
<reg name="xmm10" bitsize="128" type="vec128"/>
<reg name="xmm11" bitsize="128" type="vec128"/>
<reg name="xmm12" bitsize="128" type="vec128"/>
<reg name="xmm13" bitsize="128" type="vec128"/>
<reg name="xmm14" bitsize="128" type="vec128"/>
<reg name="xmm15" bitsize="128" type="vec128"/>
<reg name="mxcsr" bitsize="32" type="int" group="vector"/>
</feature>
<feature name="org.gnu.gdb.i386.segments">
<reg name="fs_base" bitsize="64" type="int"/>
<reg name="gs_base" bitsize="64" type="int"/>
</feature>
<feature name="org.unimon.x86_64.system">
<reg name="cr0" bitsize="64" type="int" group="system"/>
<reg name="cr2" bitsize="64" type="int" group="system"/>
<reg name="cr3" bitsize="64" type="int" group="system"/>
<reg name="cr4" bitsize="64" type="int" group="system"/>
<reg name="cr8" bitsize="64" type="int" group="system"/>
<reg name="efer" bitsize="64" type="int" group="system"/>
</feature>
</target>
`

// KVM is the Target of an x86_64 KVM vCPU and its guest memory. Virtual
// addresses are translated through the guest's page tables as its CR3
// stands, read through guestmem's checked accessor.
//
// After a guestabi debug trap (UseFrame) the program's registers are the
// trap frame in guest memory, not the vCPU's, until the guest resumes.
type KVM struct {
	vcpu  *kvm.VCPU
	mem   *guestmem.Memory
	frame uint64 // guest-physical address of the DebugFrame, or 0
}

// NewKVM returns the Target for vcpu and mem.
func NewKVM(vcpu *kvm.VCPU, mem *guestmem.Memory) *KVM { return &KVM{vcpu: vcpu, mem: mem} }

// XML is the amd64 target description.
func (k *KVM) XML() string { return amd64XML }

// RegisterSize is the size of register n of the description.
func (k *KVM) RegisterSize(n int) int {
	if n < 0 || n >= len(amd64Regs) {
		return 0
	}
	return amd64Regs[n]
}

func gprs(r *kvm.Regs) []*uint64 {
	return []*uint64{&r.RAX, &r.RBX, &r.RCX, &r.RDX, &r.RSI, &r.RDI, &r.RBP, &r.RSP,
		&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15, &r.RIP}
}

// Registers returns all registers in gdb's layout.
func (k *KVM) Registers() ([]byte, error) {
	r, fr, err := k.regs()
	if err != nil {
		return nil, err
	}
	s, err := k.vcpu.Sregs()
	if err != nil {
		return nil, err
	}
	f, err := k.vcpu.FPU()
	if err != nil {
		return nil, err
	}
	if fr != nil {
		s.CS.Selector, s.SS.Selector = uint16(fr.CS), uint16(fr.SS)
	}
	le := binary.LittleEndian
	var b []byte
	for _, p := range gprs(&r) {
		b = le.AppendUint64(b, *p)
	}
	b = le.AppendUint32(b, uint32(r.RFLAGS))
	for _, seg := range []kvm.Segment{s.CS, s.SS, s.DS, s.ES, s.FS, s.GS} {
		b = le.AppendUint32(b, uint32(seg.Selector))
	}
	for i := range f.FPR {
		b = append(b, f.FPR[i][:10]...)
	}
	for _, v := range []uint32{uint32(f.FCW), uint32(f.FSW), fullTag(f.FTWX), 0,
		uint32(f.LastIP), 0, uint32(f.LastDP), uint32(f.LastOpcode)} {
		b = le.AppendUint32(b, v)
	}
	for i := range f.XMM {
		b = append(b, f.XMM[i][:]...)
	}
	b = le.AppendUint32(b, f.MXCSR)
	for _, v := range []uint64{s.FS.Base, s.GS.Base, s.CR0, s.CR2, s.CR3, s.CR4, s.CR8, s.EFER} {
		b = le.AppendUint64(b, v)
	}
	return b, nil
}

// fullTag turns FXSAVE's abridged tag byte (1: register in use) into the
// x87 tag word gdb shows (2 bits a register, 3: empty; in-use registers
// are reported valid).
func fullTag(abridged uint8) uint32 {
	var t uint32
	for i := range 8 {
		if abridged&(1<<i) == 0 {
			t |= 3 << (2 * i)
		}
	}
	return t
}

// SetRegister changes a general register, RIP, RFLAGS, an x87 or SSE
// register or MXCSR. Segment and control registers stay as they are:
// changing them under a running unikernel is not debugging.
func (k *KVM) SetRegister(n int, b []byte) error {
	if len(b) != k.RegisterSize(n) {
		return fmt.Errorf("register %d: %d bytes, want %d", n, len(b), k.RegisterSize(n))
	}
	le := binary.LittleEndian
	switch {
	case n <= regRIP || n == regEFLAGS:
		r, _, err := k.regs()
		if err != nil {
			return err
		}
		if n == regEFLAGS {
			r.RFLAGS = uint64(le.Uint32(b))
		} else {
			*gprs(&r)[n] = le.Uint64(b)
		}
		return k.setRegs(r)
	case n >= regST0 && n < regST0+8, n >= regXMM0 && n <= regMXCSR:
		f, err := k.vcpu.FPU()
		if err != nil {
			return err
		}
		switch {
		case n < regST0+8:
			copy(f.FPR[n-regST0][:10], b)
		case n == regMXCSR:
			f.MXCSR = le.Uint32(b)
		default:
			copy(f.XMM[n-regXMM0][:], b)
		}
		return k.vcpu.SetFPU(f)
	}
	return nil
}

// PC is RIP.
func (k *KVM) PC() (uint64, error) {
	r, _, err := k.regs()
	return r.RIP, err
}

// regs returns the program's general registers: the debug trap's frame
// (returned too) when there is one, else the vCPU's.
func (k *KVM) regs() (kvm.Regs, *guestabi.DebugFrame, error) {
	if k.frame == 0 {
		r, err := k.vcpu.Regs()
		return r, nil, err
	}
	fr, err := k.readFrame()
	if err != nil {
		return kvm.Regs{}, nil, err
	}
	r := kvm.Regs{RFLAGS: fr.RFLAGS}
	for i, p := range frameGPRs(&fr) {
		*gprs(&r)[i] = *p
	}
	return r, &fr, nil
}

// setRegs sets what regs returns.
func (k *KVM) setRegs(r kvm.Regs) error {
	if k.frame == 0 {
		return k.vcpu.SetRegs(r)
	}
	fr, err := k.readFrame()
	if err != nil {
		return err
	}
	fr.RFLAGS = r.RFLAGS
	for i, p := range frameGPRs(&fr) {
		*p = *gprs(&r)[i]
	}
	return k.writeFrame(fr)
}

// frameGPRs lists a frame's registers in gprs' order.
func frameGPRs(f *guestabi.DebugFrame) []*uint64 {
	return []*uint64{&f.RAX, &f.RBX, &f.RCX, &f.RDX, &f.RSI, &f.RDI, &f.RBP, &f.RSP,
		&f.R8, &f.R9, &f.R10, &f.R11, &f.R12, &f.R13, &f.R14, &f.R15, &f.RIP}
}

// SetPC moves RIP (of the frame, after a debug trap).
func (k *KVM) SetPC(pc uint64) error {
	b := binary.LittleEndian.AppendUint64(nil, pc)
	return k.SetRegister(regRIP, b)
}

// UseFrame makes the DebugFrame at guest-physical gpa the program's
// registers until the next resume, and returns it: the guest handed the
// stub a user-mode trap (guestabi.DebugTrapPort).
func (k *KVM) UseFrame(gpa uint64) (guestabi.DebugFrame, error) {
	k.frame = 0
	if gpa == 0 {
		return guestabi.DebugFrame{}, fmt.Errorf("debug trap: frame at gpa 0")
	}
	k.frame = gpa
	fr, err := k.readFrame()
	if err != nil {
		k.frame = 0
	}
	return fr, err
}

// readFrame reads the trap frame. The frame must be writable guest
// memory (the debugger changes registers there, with Writable's checks):
// a guest that points the debug trap at read-only text gets an error
// here, a SIGSEGV stop, before any write is tried.
func (k *KVM) readFrame() (guestabi.DebugFrame, error) {
	var fr guestabi.DebugFrame
	b, err := k.mem.Writable(k.frame, guestabi.DebugFrameSize)
	if err != nil {
		return fr, fmt.Errorf("debug trap frame: %w", err)
	}
	fr.Decode(b)
	return fr, nil
}

func (k *KVM) writeFrame(fr guestabi.DebugFrame) error {
	b, err := k.mem.Writable(k.frame, guestabi.DebugFrameSize)
	if err != nil {
		return fmt.Errorf("debug trap frame: %w", err)
	}
	fr.Encode(b)
	return nil
}

// translate maps guest virtual va to guest-physical, through the page
// tables when paging is on.
func (k *KVM) translate(va uint64) (uint64, error) {
	s, err := k.vcpu.Sregs()
	if err != nil {
		return 0, err
	}
	if s.CR0&x86_64.CR0PG == 0 {
		return va, nil
	}
	pa, _, err := x86_64.Translate(k.mem, s.CR3, va)
	return pa, err
}

// access runs fn on each piece of [addr, addr+n) that lies in one page.
func (k *KVM) access(addr uint64, n int, fn func(pa uint64, off, n int) error) error {
	for off := 0; off < n; {
		va := addr + uint64(off)
		chunk := min(n-off, int(4096-va%4096))
		pa, err := k.translate(va)
		if err != nil {
			return err
		}
		if err := fn(pa, off, chunk); err != nil {
			return err
		}
		off += chunk
	}
	return nil
}

// ReadMemory reads guest virtual memory.
func (k *KVM) ReadMemory(addr uint64, b []byte) error {
	return k.access(addr, len(b), func(pa uint64, off, n int) error {
		return k.mem.Peek(pa, b[off:off+n])
	})
}

// WriteMemory writes guest virtual memory, read-only text included (a
// debugger's breakpoint), whatever the guest's own page tables allow.
func (k *KVM) WriteMemory(addr uint64, b []byte) error {
	return k.access(addr, len(b), func(pa uint64, off, n int) error {
		return k.mem.Poke(pa, b[off:off+n])
	})
}

// BreakInstruction is int3.
func (k *KVM) BreakInstruction() []byte { return []byte{0xcc} }

// StepWatches is true on PVM hosts, whose data breakpoints never fire.
func (k *KVM) StepWatches() bool { return kvm.PVM() }

// MaxHW is the four debug address registers DR0-DR3.
func (k *KVM) MaxHW() int { return 4 }

// SetDebug programs KVM_SET_GUEST_DEBUG: DR0-DR3 and DR7 for hw, int3
// trapping for software breakpoints, the trap flag for a step.
//
// After a debug trap the step is the trap flag in the frame's RFLAGS,
// which the unikernel resumes the program with: KVM's own single step
// would stop in the unikernel's trap exit instead.
func (k *KVM) SetDebug(step bool, hw []HW, swbreak bool) error {
	if k.frame != 0 {
		fr, err := k.readFrame()
		if err != nil {
			return err
		}
		fr.RFLAGS &^= rflagsTF
		if step {
			fr.RFLAGS |= rflagsTF
		}
		if err := k.writeFrame(fr); err != nil {
			return err
		}
		k.frame, step = 0, false
	}
	var d kvm.GuestDebug
	if !step && len(hw) == 0 && !swbreak {
		return k.vcpu.SetGuestDebug(d)
	}
	d.Control = kvm.GuestDebugEnable
	if step {
		d.Control |= kvm.GuestDebugSingleStep
	}
	if swbreak {
		d.Control |= kvm.GuestDebugUseSWBP
	}
	if len(hw) > 0 {
		d.Control |= kvm.GuestDebugUseHWBP
	}
	if len(hw) > k.MaxHW() {
		return ErrNoSlot
	}
	var dr7 uint64
	for i, h := range hw {
		d.DebugReg[i] = h.Addr
		var rw, ln uint64
		switch h.Kind {
		case Exec:
			rw = 0
		case Write:
			rw = 1
		default:
			rw = 3 // x86 has no read-only watchpoint: reads and writes
		}
		switch h.Len {
		case 2:
			ln = 1
		case 4:
			ln = 3
		case 8:
			ln = 2
		}
		if h.Kind == Exec {
			ln = 0
		}
		dr7 |= 1<<(2*i) | rw<<(16+4*i) | ln<<(18+4*i)
	}
	d.DebugReg[7] = dr7
	return k.vcpu.SetGuestDebug(d)
}

// DecodeStop turns a KVM_EXIT_DEBUG into a Stop: which debug register
// fired (DR6 bits 0-3), or a single step or int3.
func DecodeStop(e kvm.DebugExit) Stop {
	st := Stop{Signal: 5, HW: -1}
	if e.Exception == 3 {
		st.SWBreak = true
		return st
	}
	for i := range 4 {
		if e.DR6&(1<<i) != 0 {
			st.HW = i
			break
		}
	}
	return st
}
