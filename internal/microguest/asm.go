// Package microguest builds tiny Solo5 hvt guests: a few dozen x86_64
// instructions, assembled in Go and wrapped in a Solo5 ELF file, for the
// monitor's end-to-end tests, its benchmarks and `make run`.
//
// It has three parts: Asm, a minimal x86_64 assembler that emits exactly the
// instructions these guests need; ELF, which wraps code and data in an
// executable that passes upstream solo5-hvt's loader and note rules; and a
// catalogue of guests (Hello, Exit, BlockRoundTrip, Hostile, ...), each
// documented with what the host should observe when it runs it. A64 and
// the A64* guests are the same for aarch64; Catalogue (Host, ForArch)
// gathers the guests both architectures share, so a test written against
// it runs on either.
//
// The guests are deliberately tiny because CPL0 guest code runs in KVM's
// instruction emulator on the project's machines (about 1 µs per
// instruction) and must not use SSE, which that emulator lacks.
package microguest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Reg is an x86_64 general-purpose register, numbered as in the ModRM
// encoding (bit 3 goes into a REX prefix).
type Reg uint8

// The sixteen general-purpose registers. 64-bit instructions use them as
// RAX..R15, 32-bit ones as EAX..R15D.
const (
	RAX Reg = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

var regNames = [...]string{
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
}

func (r Reg) String() string {
	if int(r) < len(regNames) {
		return regNames[r]
	}
	return fmt.Sprintf("Reg(%d)", uint8(r))
}

// Cond is the condition of a conditional jump, encoded as the low nibble
// of the 0F 8x opcode.
type Cond uint8

// Conditions after Cmp/CmpImm/Sub (unsigned: B, AE, BE, A; signed: L, GE,
// LE, G) or after TestImm/Inc/Dec (Z, NZ).
const (
	CondB  Cond = 0x2 // below (CF=1)
	CondAE Cond = 0x3 // above or equal (CF=0)
	CondE  Cond = 0x4 // equal (ZF=1)
	CondNE Cond = 0x5 // not equal (ZF=0)
	CondBE Cond = 0x6 // below or equal
	CondA  Cond = 0x7 // above
	CondL  Cond = 0xc // less (signed)
	CondGE Cond = 0xd // greater or equal (signed)
	CondLE Cond = 0xe // less or equal (signed)
	CondG  Cond = 0xf // greater (signed)
	CondZ       = CondE
	CondNZ      = CondNE
)

// ErrAsm is returned (wrapped) by Finish for any misuse of Asm: a bad
// register, a label defined twice or never defined.
var ErrAsm = errors.New("microguest: assembler error")

// Asm assembles x86_64 machine code into a byte slice. The zero value is
// ready to use. Methods never fail on their own: the first misuse is
// remembered and reported by Finish, so guest builders stay linear.
//
// Jumps and RIP-relative Lea always use 32-bit displacements, so an
// instruction's size never depends on where its label ends up and labels
// can be used before they are defined.
type Asm struct {
	buf    []byte
	labels map[string]int
	fixups []fixup
	insns  int
	err    error
}

// fixup is a rel32 field at buf[at:at+4] that must hold label's offset
// relative to the end of the field. In every instruction Asm emits with a
// label the rel32 comes last, so the end of the field is also the end of
// the instruction, which is what the CPU measures from.
type fixup struct {
	at    int
	label string
}

func (a *Asm) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("%w: "+format, append([]any{ErrAsm}, args...)...)
	}
}

func (a *Asm) check(regs ...Reg) bool {
	for _, r := range regs {
		if r > R15 {
			a.fail("instruction %d: invalid register %d", a.insns, uint8(r))
			return false
		}
	}
	return true
}

func (a *Asm) emit(b ...byte) { a.buf = append(a.buf, b...) }

func (a *Asm) emit32(v uint32) { a.buf = binary.LittleEndian.AppendUint32(a.buf, v) }

// insn counts one instruction; tests use the count to keep guests small.
func (a *Asm) insn() { a.insns++ }

// rex emits a REX prefix when one is needed: for a 64-bit operand size (w),
// for registers R8..R15 in the ModRM reg or r/m field, or when force is set
// (byte access to SPL, BPL, SIL, DIL, which without REX would mean AH..BH).
func (a *Asm) rex(w bool, reg, rm Reg, force bool) {
	b := byte(0x40)
	if w {
		b |= 0x08
	}
	if reg&8 != 0 {
		b |= 0x04
	}
	if rm&8 != 0 {
		b |= 0x01
	}
	if b != 0x40 || force {
		a.emit(b)
	}
}

// modrmReg emits a register-direct ModRM byte.
func (a *Asm) modrmReg(reg, rm Reg) { a.emit(0xc0 | byte(reg&7)<<3 | byte(rm&7)) }

// modrmMem emits the ModRM (and SIB, and displacement) for [base+disp],
// choosing the shortest form as assemblers do, so encodings can be checked
// against theirs.
func (a *Asm) modrmMem(reg, base Reg, disp int32) {
	rm := byte(base & 7)
	var mod byte
	switch {
	case disp == 0 && rm != 5: // mod 00 with rm 101 would mean RIP+disp32, so RBP/R13 need a displacement
		mod = 0
	case disp >= -128 && disp <= 127:
		mod = 1
	default:
		mod = 2
	}
	a.emit(mod<<6 | byte(reg&7)<<3 | rm)
	if rm == 4 { // rm 100 means "a SIB follows"; SIB 0x24 is base=RSP/R12, no index
		a.emit(0x24)
	}
	switch mod {
	case 1:
		a.emit(byte(int8(disp)))
	case 2:
		a.emit32(uint32(disp))
	}
}

// ref emits a rel32 placeholder for label.
func (a *Asm) ref(label string) {
	a.fixups = append(a.fixups, fixup{at: len(a.buf), label: label})
	a.emit32(0)
}

// Len is the number of bytes emitted so far: the offset the next
// instruction will have.
func (a *Asm) Len() int { return len(a.buf) }

// Instructions is the number of instructions emitted so far (Bytes and
// Align do not count).
func (a *Asm) Instructions() int { return a.insns }

// Label defines name at the current offset.
func (a *Asm) Label(name string) {
	if name == "" {
		a.fail("empty label name")
		return
	}
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	if _, dup := a.labels[name]; dup {
		a.fail("label %q defined twice", name)
		return
	}
	a.labels[name] = len(a.buf)
}

// Bytes appends raw bytes (data kept in the text, such as a string).
func (a *Asm) Bytes(b []byte) { a.emit(b...) }

// Align pads with int3 (0xCC) to a multiple of n bytes, so that straying
// into the padding traps instead of running whatever follows.
func (a *Asm) Align(n int) {
	if n <= 0 || n&(n-1) != 0 {
		a.fail("alignment %d is not a power of two", n)
		return
	}
	for len(a.buf)%n != 0 {
		a.emit(0xcc)
	}
}

// MovImm64 is `mov r64, imm64` (REX.W B8+r, the 10-byte movabs form).
func (a *Asm) MovImm64(r Reg, imm uint64) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(true, 0, r, false)
	a.emit(0xb8 + byte(r&7))
	a.buf = binary.LittleEndian.AppendUint64(a.buf, imm)
}

// MovImm32 is `mov r32, imm32` (B8+r). Like every 32-bit register write
// it zeroes bits 63..32, which makes it the short way to load a GPA.
func (a *Asm) MovImm32(r Reg, imm uint32) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(false, 0, r, false)
	a.emit(0xb8 + byte(r&7))
	a.emit32(imm)
}

// Mov is `mov dst, src` on 64-bit registers (REX.W 89 /r).
func (a *Asm) Mov(dst, src Reg) {
	if !a.check(dst, src) {
		return
	}
	a.insn()
	a.rex(true, src, dst, false)
	a.emit(0x89)
	a.modrmReg(src, dst)
}

// Load64 is `mov dst, qword [base+disp]` (REX.W 8B /r).
func (a *Asm) Load64(dst, base Reg, disp int32) {
	if !a.check(dst, base) {
		return
	}
	a.insn()
	a.rex(true, dst, base, false)
	a.emit(0x8b)
	a.modrmMem(dst, base, disp)
}

// Load32 is `mov dst32, dword [base+disp]` (8B /r); bits 63..32 of dst
// become zero.
func (a *Asm) Load32(dst, base Reg, disp int32) {
	if !a.check(dst, base) {
		return
	}
	a.insn()
	a.rex(false, dst, base, false)
	a.emit(0x8b)
	a.modrmMem(dst, base, disp)
}

// Load8 is `movzx dst32, byte [base+disp]` (0F B6 /r): one byte,
// zero-extended to the whole register.
func (a *Asm) Load8(dst, base Reg, disp int32) {
	if !a.check(dst, base) {
		return
	}
	a.insn()
	a.rex(false, dst, base, false)
	a.emit(0x0f, 0xb6)
	a.modrmMem(dst, base, disp)
}

// Store64 is `mov qword [base+disp], src` (REX.W 89 /r).
func (a *Asm) Store64(base Reg, disp int32, src Reg) {
	if !a.check(base, src) {
		return
	}
	a.insn()
	a.rex(true, src, base, false)
	a.emit(0x89)
	a.modrmMem(src, base, disp)
}

// Store32 is `mov dword [base+disp], src32` (89 /r).
func (a *Asm) Store32(base Reg, disp int32, src Reg) {
	if !a.check(base, src) {
		return
	}
	a.insn()
	a.rex(false, src, base, false)
	a.emit(0x89)
	a.modrmMem(src, base, disp)
}

// Store8 is `mov byte [base+disp], src8` (88 /r), storing the low byte of
// src.
func (a *Asm) Store8(base Reg, disp int32, src Reg) {
	if !a.check(base, src) {
		return
	}
	a.insn()
	// Without a REX prefix byte registers 4..7 are AH, CH, DH, BH.
	a.rex(false, src, base, src >= RSP && src <= RDI)
	a.emit(0x88)
	a.modrmMem(src, base, disp)
}

// StoreImm32 is `mov dword [base+disp], imm32` (C7 /0 id).
func (a *Asm) StoreImm32(base Reg, disp int32, imm uint32) {
	if !a.check(base) {
		return
	}
	a.insn()
	a.rex(false, 0, base, false)
	a.emit(0xc7)
	a.modrmMem(0, base, disp)
	a.emit32(imm)
}

// Lea is `lea r, [rip+label]` (REX.W 8D /r with a RIP-relative disp32):
// the run-time address of label, wherever the code is loaded.
func (a *Asm) Lea(r Reg, label string) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(true, r, 0, false)
	a.emit(0x8d, byte(r&7)<<3|0x05) // mod 00, rm 101: RIP-relative in 64-bit mode
	a.ref(label)
}

// aluImm emits the 64-bit group-1 instruction /ext with an immediate,
// using the sign-extended imm8 form (83) when it fits and imm32 (81)
// otherwise.
func (a *Asm) aluImm(ext byte, r Reg, imm int32) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(true, 0, r, false)
	if imm >= -128 && imm <= 127 {
		a.emit(0x83)
		a.modrmReg(Reg(ext), r)
		a.emit(byte(int8(imm)))
		return
	}
	a.emit(0x81)
	a.modrmReg(Reg(ext), r)
	a.emit32(uint32(imm))
}

// AddImm is `add r64, imm` (imm sign-extended to 64 bits).
func (a *Asm) AddImm(r Reg, imm int32) { a.aluImm(0, r, imm) }

// SubImm is `sub r64, imm` (imm sign-extended to 64 bits).
func (a *Asm) SubImm(r Reg, imm int32) { a.aluImm(5, r, imm) }

// CmpImm is `cmp r64, imm` (imm sign-extended to 64 bits).
func (a *Asm) CmpImm(r Reg, imm int32) { a.aluImm(7, r, imm) }

// alu emits the 64-bit register-register form `op dst, src` (op /r with
// ModRM reg=src, r/m=dst).
func (a *Asm) alu(op byte, dst, src Reg) {
	if !a.check(dst, src) {
		return
	}
	a.insn()
	a.rex(true, src, dst, false)
	a.emit(op)
	a.modrmReg(src, dst)
}

// Add is `add dst, src` on 64-bit registers.
func (a *Asm) Add(dst, src Reg) { a.alu(0x01, dst, src) }

// Sub is `sub dst, src` on 64-bit registers.
func (a *Asm) Sub(dst, src Reg) { a.alu(0x29, dst, src) }

// Cmp is `cmp x, y` on 64-bit registers (flags from x - y).
func (a *Asm) Cmp(x, y Reg) { a.alu(0x39, x, y) }

// Xor is `xor dst, src` on 64-bit registers.
func (a *Asm) Xor(dst, src Reg) { a.alu(0x31, dst, src) }

// TestImm is `test r64, imm32` (REX.W F7 /0 id): ZF=1 when r & imm is zero.
func (a *Asm) TestImm(r Reg, imm int32) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(true, 0, r, false)
	a.emit(0xf7)
	a.modrmReg(0, r)
	a.emit32(uint32(imm))
}

// Inc is `inc r64` (REX.W FF /0).
func (a *Asm) Inc(r Reg) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(true, 0, r, false)
	a.emit(0xff)
	a.modrmReg(0, r)
}

// Dec is `dec r64` (REX.W FF /1).
func (a *Asm) Dec(r Reg) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(true, 0, r, false)
	a.emit(0xff)
	a.modrmReg(1, r)
}

// Jmp is `jmp label` (E9 rel32).
func (a *Asm) Jmp(label string) {
	a.insn()
	a.emit(0xe9)
	a.ref(label)
}

// Jcc is `j<c> label` (0F 80+c rel32).
func (a *Asm) Jcc(c Cond, label string) {
	if c > 0xf {
		a.fail("instruction %d: invalid condition %d", a.insns, uint8(c))
		return
	}
	a.insn()
	a.emit(0x0f, 0x80+byte(c))
	a.ref(label)
}

// OutDXEAX is `out dx, eax` (EF): the x86_64 hvt hypercall instruction.
func (a *Asm) OutDXEAX() { a.insn(); a.emit(0xef) }

// OutDXAL is `out dx, al` (EE), a 1-byte port write, which hvt monitors
// must reject.
func (a *Asm) OutDXAL() { a.insn(); a.emit(0xee) }

// Hlt is `hlt` (F4).
func (a *Asm) Hlt() { a.insn(); a.emit(0xf4) }

// Ud2 is `ud2` (0F 0B), the guaranteed invalid-opcode exception.
func (a *Asm) Ud2() { a.insn(); a.emit(0x0f, 0x0b) }

// Lidt is `lidt [r]` (0F 01 /3), loading IDTR from the 10 bytes at r.
func (a *Asm) Lidt(r Reg) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(false, 0, r, false)
	a.emit(0x0f, 0x01)
	a.modrmMem(3, r, 0)
}

// Lgdt is `lgdt [r]` (0F 01 /2), loading GDTR from the 10 bytes at r.
func (a *Asm) Lgdt(r Reg) {
	if !a.check(r) {
		return
	}
	a.insn()
	a.rex(false, 0, r, false)
	a.emit(0x0f, 0x01)
	a.modrmMem(2, r, 0)
}

// Rdtsc is `rdtsc` (0F 31).
func (a *Asm) Rdtsc() { a.insn(); a.emit(0x0f, 0x31) }

// Cli is `cli` (FA).
func (a *Asm) Cli() { a.insn(); a.emit(0xfa) }

// Pause is `pause` (F3 90).
func (a *Asm) Pause() { a.insn(); a.emit(0xf3, 0x90) }

// Nop is `nop` (90).
func (a *Asm) Nop() { a.insn(); a.emit(0x90) }

// Finish resolves every label reference and returns the code. It reports
// the first misuse of a, or a reference to a label never defined. a can be
// finished more than once.
func (a *Asm) Finish() ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	out := append([]byte(nil), a.buf...)
	var missing []string
	for _, f := range a.fixups {
		off, ok := a.labels[f.label]
		if !ok {
			if !slices.Contains(missing, f.label) {
				missing = append(missing, f.label)
			}
			continue
		}
		rel := int64(off) - int64(f.at+4)
		binary.LittleEndian.PutUint32(out[f.at:], uint32(int32(rel)))
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("%w: undefined labels %q", ErrAsm, missing)
	}
	return out, nil
}
