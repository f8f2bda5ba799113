package microguest

import (
	"encoding/binary"
	"fmt"
)

// A64Reg is an aarch64 general-purpose register X0..X30, or register 31,
// which is SP as the base of a load or store and XZR elsewhere; A64 only
// accepts it in those two roles.
type A64Reg uint8

// The aarch64 registers used by the guests. The hvt ABI passes the boot
// info in X0 and issues hypercalls with `str w0, [x1]`.
const (
	X0 A64Reg = iota
	X1
	X2
	X3
	X4
	X5
	X6
	X7
	X8
	X9
	X10
	X11
	X12
	X13
	X14
	X15
	X16
	X17
	X18
	X19
	X20
	X21
	X22
	X23
	X24
	X25
	X26
	X27
	X28
	X29
	X30
	XZR
	// SP is register 31 as the base register of a load or store.
	SP = XZR
)

// A64Cond is a condition of B.cond (the cond field).
type A64Cond uint8

// Conditions after CmpImm/Cmp (unsigned: LO, HS, LS, HI).
const (
	A64EQ A64Cond = 0x0
	A64NE A64Cond = 0x1
	A64HS A64Cond = 0x2 // unsigned >=
	A64LO A64Cond = 0x3 // unsigned <
	A64HI A64Cond = 0x8 // unsigned >
	A64LS A64Cond = 0x9 // unsigned <=
)

// A64 assembles aarch64 machine code: a handful of A64 instructions,
// enough for the micro-guests. Like Asm, methods never fail on their own;
// the first misuse (bad register, immediate out of range, unknown label)
// is reported by Finish. Every instruction is 4 bytes, so labels can be
// used before they are defined.
type A64 struct {
	words  []uint32
	labels map[string]int // word index
	fixups []a64Fixup
	err    error
}

type a64FixKind uint8

const (
	fixB     a64FixKind = iota // imm26 at [25:0], words
	fixImm19                   // imm19 at [23:5], words: B.cond, CBZ, CBNZ
	fixImm14                   // imm14 at [18:5], words: TBZ, TBNZ
	fixADR                     // imm21 split immlo [30:29], immhi [23:5], bytes
)

type a64Fixup struct {
	at    int
	kind  a64FixKind
	label string
}

func (a *A64) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("%w: a64: %s", ErrAsm, fmt.Sprintf(format, args...))
	}
}

// reg checks general-purpose register operands; allowZR says whether
// register 31 (XZR) is allowed in that position.
func (a *A64) reg(allowZR bool, regs ...A64Reg) bool {
	for _, r := range regs {
		if r > XZR || (r == XZR && !allowZR) {
			a.fail("register %d not allowed here", r)
			return false
		}
	}
	return true
}

func (a *A64) emit(w uint32) { a.words = append(a.words, w) }

func (a *A64) ref(kind a64FixKind, label string) {
	a.fixups = append(a.fixups, a64Fixup{at: len(a.words), kind: kind, label: label})
}

// Len is the code size so far in bytes.
func (a *A64) Len() int { return 4 * len(a.words) }

// Label defines name at the current position.
func (a *A64) Label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	if _, dup := a.labels[name]; dup {
		a.fail("label %q defined twice", name)
		return
	}
	a.labels[name] = len(a.words)
}

// Word emits a raw 32-bit word: data in the text, or an instruction A64
// does not know.
func (a *A64) Word(w uint32) { a.emit(w) }

// Movz sets rd to imm16 << shift and clears the other bits (MOVZ Xd).
func (a *A64) Movz(rd A64Reg, imm16 uint16, shift uint) {
	if a.reg(false, rd) && a.shift(shift) {
		a.emit(0xd2800000 | uint32(shift/16)<<21 | uint32(imm16)<<5 | uint32(rd))
	}
}

// Movk replaces bits [shift+15:shift] of rd with imm16 (MOVK Xd).
func (a *A64) Movk(rd A64Reg, imm16 uint16, shift uint) {
	if a.reg(false, rd) && a.shift(shift) {
		a.emit(0xf2800000 | uint32(shift/16)<<21 | uint32(imm16)<<5 | uint32(rd))
	}
}

func (a *A64) shift(s uint) bool {
	if s%16 != 0 || s > 48 {
		a.fail("move-wide shift %d", s)
		return false
	}
	return true
}

// MovImm sets rd to imm with one MOVZ and a MOVK per further non-zero
// 16-bit chunk.
func (a *A64) MovImm(rd A64Reg, imm uint64) {
	a.Movz(rd, uint16(imm), 0)
	for s := uint(16); s < 64; s += 16 {
		if chunk := uint16(imm >> s); chunk != 0 {
			a.Movk(rd, chunk, s)
		}
	}
}

// Mov copies rn to rd (ORR Xd, XZR, Xm).
func (a *A64) Mov(rd, rm A64Reg) {
	if a.reg(false, rd) && a.reg(true, rm) {
		a.emit(0xaa0003e0 | uint32(rm)<<16 | uint32(rd))
	}
}

// ldst emits an unsigned-offset load or store: base is the opcode with
// size and opc, scale the access size in bytes.
func (a *A64) ldst(base uint32, scale uint32, rt, rn A64Reg, off uint32) {
	if !a.reg(true, rt) || !a.reg(true, rn) {
		return
	}
	if off%scale != 0 || off/scale > 0xfff {
		a.fail("load/store offset %d not a multiple of %d below %d", off, scale, 0x1000*scale)
		return
	}
	a.emit(base | (off/scale)<<10 | uint32(rn)<<5 | uint32(rt))
}

// LoadX loads 8 bytes: LDR Xt, [Xn, #off].
func (a *A64) LoadX(rt, rn A64Reg, off uint32) { a.ldst(0xf9400000, 8, rt, rn, off) }

// LoadW loads 4 bytes, zero-extended: LDR Wt, [Xn, #off].
func (a *A64) LoadW(rt, rn A64Reg, off uint32) { a.ldst(0xb9400000, 4, rt, rn, off) }

// LoadB loads 1 byte, zero-extended: LDRB Wt, [Xn, #off].
func (a *A64) LoadB(rt, rn A64Reg, off uint32) { a.ldst(0x39400000, 1, rt, rn, off) }

// StoreX stores 8 bytes: STR Xt, [Xn, #off].
func (a *A64) StoreX(rt, rn A64Reg, off uint32) { a.ldst(0xf9000000, 8, rt, rn, off) }

// StoreW stores the low 4 bytes: STR Wt, [Xn, #off]. This is the hvt
// hypercall instruction.
func (a *A64) StoreW(rt, rn A64Reg, off uint32) { a.ldst(0xb9000000, 4, rt, rn, off) }

// StoreB stores the low byte: STRB Wt, [Xn, #off].
func (a *A64) StoreB(rt, rn A64Reg, off uint32) { a.ldst(0x39000000, 1, rt, rn, off) }

func (a *A64) addsub(base uint32, rd, rn A64Reg, imm uint32) {
	if imm > 0xfff {
		a.fail("add/sub immediate %d above 4095", imm)
		return
	}
	a.emit(base | imm<<10 | uint32(rn)<<5 | uint32(rd))
}

// AddImm is ADD Xd, Xn, #imm (imm < 4096). Register 31 is SP here, so
// AddImm(X4, SP, 0) is `mov x4, sp`.
func (a *A64) AddImm(rd, rn A64Reg, imm uint32) {
	if a.reg(true, rd, rn) {
		a.addsub(0x91000000, rd, rn, imm)
	}
}

// SubImm is SUB Xd, Xn, #imm (imm < 4096); register 31 is SP.
func (a *A64) SubImm(rd, rn A64Reg, imm uint32) {
	if a.reg(true, rd, rn) {
		a.addsub(0xd1000000, rd, rn, imm)
	}
}

// SubsImm is SUBS Xd, Xn, #imm: subtract and set the flags. Register 31
// is XZR as Xd (CmpImm) and SP as Xn.
func (a *A64) SubsImm(rd, rn A64Reg, imm uint32) {
	if a.reg(true, rd, rn) {
		a.addsub(0xf1000000, rd, rn, imm)
	}
}

// CmpImm compares Xn with imm (SUBS XZR, Xn, #imm).
func (a *A64) CmpImm(rn A64Reg, imm uint32) { a.SubsImm(XZR, rn, imm) }

func (a *A64) alu(base uint32, rd, rn, rm A64Reg) {
	if a.reg(true, rd, rn, rm) {
		a.emit(base | uint32(rm)<<16 | uint32(rn)<<5 | uint32(rd))
	}
}

// Add is ADD Xd, Xn, Xm.
func (a *A64) Add(rd, rn, rm A64Reg) { a.alu(0x8b000000, rd, rn, rm) }

// Sub is SUB Xd, Xn, Xm.
func (a *A64) Sub(rd, rn, rm A64Reg) { a.alu(0xcb000000, rd, rn, rm) }

// Cmp compares Xn with Xm (SUBS XZR, Xn, Xm).
func (a *A64) Cmp(rn, rm A64Reg) { a.alu(0xeb000000, XZR, rn, rm) }

// B branches to label.
func (a *A64) B(label string) { a.ref(fixB, label); a.emit(0x14000000) }

// BCond branches to label if cond holds.
func (a *A64) BCond(cond A64Cond, label string) {
	a.ref(fixImm19, label)
	a.emit(0x54000000 | uint32(cond&0xf))
}

// Cbz branches to label if Xt is zero.
func (a *A64) Cbz(rt A64Reg, label string) {
	if a.reg(false, rt) {
		a.ref(fixImm19, label)
		a.emit(0xb4000000 | uint32(rt))
	}
}

// Cbnz branches to label if Xt is not zero.
func (a *A64) Cbnz(rt A64Reg, label string) {
	if a.reg(false, rt) {
		a.ref(fixImm19, label)
		a.emit(0xb5000000 | uint32(rt))
	}
}

func (a *A64) tb(base uint32, rt A64Reg, bit uint, label string) {
	if !a.reg(false, rt) {
		return
	}
	if bit > 63 {
		a.fail("test bit %d", bit)
		return
	}
	a.ref(fixImm14, label)
	a.emit(base | uint32(bit>>5)<<31 | uint32(bit&31)<<19 | uint32(rt))
}

// Tbz branches to label if bit of Xt is 0.
func (a *A64) Tbz(rt A64Reg, bit uint, label string) { a.tb(0x36000000, rt, bit, label) }

// Tbnz branches to label if bit of Xt is 1.
func (a *A64) Tbnz(rt A64Reg, bit uint, label string) { a.tb(0x37000000, rt, bit, label) }

// Adr sets Xd to the address of label (PC-relative, within 1 MiB).
func (a *A64) Adr(rd A64Reg, label string) {
	if a.reg(false, rd) {
		a.ref(fixADR, label)
		a.emit(0x10000000 | uint32(rd))
	}
}

// Hvc calls the hypervisor with imm16 (HVC #imm); KVM implements PSCI
// behind it.
func (a *A64) Hvc(imm16 uint16) { a.emit(0xd4000002 | uint32(imm16)<<5) }

// Wfi waits for an interrupt; with all interrupts masked and no timer
// programmed the guest sleeps until the host stops it.
func (a *A64) Wfi() { a.emit(0xd503207f) }

// Nop does nothing.
func (a *A64) Nop() { a.emit(0xd503201f) }

// Udf is a permanently undefined instruction (UDF #0).
func (a *A64) Udf() { a.emit(0x00000000) }

// MrsCNTVCT reads the virtual counter into Xt (MRS Xt, CNTVCT_EL0): the
// aarch64 equivalent of rdtsc.
func (a *A64) MrsCNTVCT(rt A64Reg) {
	if a.reg(false, rt) {
		a.emit(0xd53be040 | uint32(rt))
	}
}

// Finish resolves the labels and returns the code.
func (a *A64) Finish() ([]byte, error) {
	for _, f := range a.fixups {
		target, ok := a.labels[f.label]
		if !ok {
			a.fail("label %q used but not defined", f.label)
			break
		}
		rel := int64(target - f.at) // in words
		w := &a.words[f.at]
		switch f.kind {
		case fixB:
			if rel < -(1<<25) || rel >= 1<<25 {
				a.fail("branch to %q out of range", f.label)
			}
			*w |= uint32(rel) & (1<<26 - 1)
		case fixImm19:
			if rel < -(1<<18) || rel >= 1<<18 {
				a.fail("branch to %q out of range", f.label)
			}
			*w |= (uint32(rel) & (1<<19 - 1)) << 5
		case fixImm14:
			if rel < -(1<<13) || rel >= 1<<13 {
				a.fail("test-and-branch to %q out of range", f.label)
			}
			*w |= (uint32(rel) & (1<<14 - 1)) << 5
		case fixADR:
			b := rel * 4
			if b < -(1<<20) || b >= 1<<20 {
				a.fail("adr of %q out of range", f.label)
			}
			imm := uint32(b) & (1<<21 - 1)
			*w |= (imm&3)<<29 | (imm>>2)<<5
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	out := make([]byte, 0, 4*len(a.words))
	for _, w := range a.words {
		out = binary.LittleEndian.AppendUint32(out, w)
	}
	return out, nil
}
