// Package x86len decodes the length of x86-64 (64-bit mode) instructions,
// and which opcode they carry, over the whole encoding space: legacy and
// REX prefixes, the one-byte, 0F, 0F38 and 0F3A maps, 3DNow!, VEX (two
// and three byte), EVEX (maps 1, 2, 3, 5, 6) and XOP.
//
// It exists for `unimon build`, which must find every SYSCALL in a Go
// program's text by walking it instruction by instruction: a general
// disassembler that does not know one instruction (golang.org/x/arch's
// x86asm stops at ADCX, BMI2, AVX and AVX-512) loses the instruction
// boundary, so here every opcode of every map is in a table, and an
// opcode the table marks invalid in 64-bit mode is an error rather than
// a guess.
//
// Where Intel and AMD disagree on a length (an operand-size prefix on a
// near branch), Intel's rule is used: the displacement stays 32 bits.
// The Go assembler never emits that prefix on a branch.
package x86len

import (
	"errors"
	"fmt"
)

// MaxLen is the architectural limit on an instruction's length; a longer
// one faults (#GP), so no compiler emits it.
const MaxLen = 15

// Errors Decode returns (wrapped, with the offending bytes).
var (
	// ErrTruncated: the bytes end inside the instruction.
	ErrTruncated = errors.New("instruction truncated")
	// ErrInvalid: the opcode does not exist in 64-bit mode (or in the
	// map its VEX, EVEX or XOP prefix selects).
	ErrInvalid = errors.New("invalid opcode in 64-bit mode")
	// ErrTooLong: more than MaxLen bytes of prefixes and instruction.
	ErrTooLong = errors.New("instruction longer than 15 bytes")
)

// Encoding is how the opcode is introduced.
type Encoding uint8

// The encodings.
const (
	Legacy Encoding = iota // optional legacy and REX prefixes, then the opcode (with 0F escapes)
	VEX                    // C5 or C4
	EVEX                   // 62
	XOP                    // 8F with a map of 8 or more
)

func (e Encoding) String() string {
	switch e {
	case Legacy:
		return "legacy"
	case VEX:
		return "VEX"
	case EVEX:
		return "EVEX"
	case XOP:
		return "XOP"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// Map is the opcode map. Legacy escapes and VEX/EVEX map numbers share
// the numbering of the VEX mmmmm field (1 = 0F, 2 = 0F38, 3 = 0F3A).
type Map uint8

// The opcode maps.
const (
	MapOneByte Map = 0
	Map0F      Map = 1
	Map0F38    Map = 2
	Map0F3A    Map = 3
	Map5       Map = 5    // EVEX (AVX512-FP16)
	Map6       Map = 6    // EVEX (AVX512-FP16)
	MapXOP8    Map = 8    // XOP, imm8
	MapXOP9    Map = 9    // XOP, no immediate
	MapXOPA    Map = 10   // XOP, imm32
	Map3DNow   Map = 0x0f // 0F 0F: the opcode is the trailing byte
)

// Inst is what Decode learns about one instruction.
type Inst struct {
	// Len is the instruction's length in bytes, prefixes included.
	Len int
	// Prefixes is the number of legacy and REX prefix bytes before the
	// opcode (or before the VEX, EVEX or XOP prefix).
	Prefixes int
	Encoding Encoding
	Map      Map
	// Op is the opcode byte within Map.
	Op byte
}

// IsSyscall reports whether i is SYSCALL (0F 05).
func (i Inst) IsSyscall() bool {
	return i.Encoding == Legacy && i.Map == Map0F && i.Op == 0x05
}

// form says what follows an opcode.
type form uint8

const (
	invalid  form = iota // #UD in 64-bit mode, or unassigned
	none                 // nothing
	modrm                // ModRM (with SIB and displacement)
	modrmI8              // ModRM, imm8
	modrmIz              // ModRM, imm16 or imm32 (operand size)
	i8                   // imm8 (or rel8)
	i16                  // imm16
	iz                   // imm16 or imm32 (operand size; REX.W keeps 32)
	iv                   // imm16, imm32 or imm64 (MOV r, imm)
	rel32                // rel32 (near branches: 32 bits in 64-bit mode)
	moffs                // 8-byte address, 4 with the address-size prefix
	enter                // imm16, imm8
	grp3b                // F6: ModRM, imm8 only for /0 and /1 (TEST)
	grp3v                // F7: ModRM, imm16/32 only for /0 and /1 (TEST)
	modrmReg             // MOV to/from control/debug registers: ModRM is always a register form
	sse4a                // 0F 78: VMREAD (ModRM), or EXTRQ/INSERTQ with 66/F2 (ModRM, imm8, imm8)
	prefix               // a legacy prefix
	rex                  // a REX prefix
	escape               // 0F
)

// set fills t[lo..hi] with f.
func set(t *[256]form, lo, hi int, f form) {
	for i := lo; i <= hi; i++ {
		t[i] = f
	}
}

// oneByte is the primary opcode map in 64-bit mode (Intel SDM vol. 2,
// table A-2). C4, C5, 62 and 8F are handled before it is consulted.
var oneByte = func() (t [256]form) {
	// 00-3F: eight ALU groups (ADD OR ADC SBB AND SUB XOR CMP), each
	// r/m,r  r,r/m in both sizes, then AL,imm8 and eAX,imm.
	for op := 0; op < 0x40; op += 8 {
		set(&t, op, op+3, modrm)
		t[op+4] = i8
		t[op+5] = iz
		// op+6, op+7: PUSH/POP segment, DAA and friends: invalid,
		// except where the slot holds a prefix or the 0F escape.
	}
	t[0x0f] = escape
	for _, p := range []int{0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3} {
		t[p] = prefix
	}
	set(&t, 0x40, 0x4f, rex)
	set(&t, 0x50, 0x5f, none) // PUSH, POP
	// 60-62 PUSHA POPA BOUND: invalid (62 is EVEX).
	t[0x63] = modrm // MOVSXD
	t[0x68] = iz    // PUSH imm
	t[0x69] = modrmIz
	t[0x6a] = i8
	t[0x6b] = modrmI8
	set(&t, 0x6c, 0x6f, none) // INS, OUTS
	set(&t, 0x70, 0x7f, i8)   // Jcc rel8
	t[0x80] = modrmI8
	t[0x81] = modrmIz
	// 82: invalid in 64-bit mode.
	t[0x83] = modrmI8
	set(&t, 0x84, 0x8f, modrm) // TEST XCHG MOV LEA MOV-seg POP (8F /0; XOP elsewhere)
	set(&t, 0x90, 0x99, none)  // NOP/XCHG, CBW, CWD
	// 9A: CALLF ptr16:32, invalid.
	set(&t, 0x9b, 0x9f, none) // FWAIT PUSHF POPF SAHF LAHF
	set(&t, 0xa0, 0xa3, moffs)
	set(&t, 0xa4, 0xa7, none) // MOVS, CMPS
	t[0xa8] = i8
	t[0xa9] = iz
	set(&t, 0xaa, 0xaf, none) // STOS LODS SCAS
	set(&t, 0xb0, 0xb7, i8)   // MOV r8, imm8
	set(&t, 0xb8, 0xbf, iv)   // MOV r, imm (imm64 with REX.W)
	t[0xc0] = modrmI8         // shift group, imm8
	t[0xc1] = modrmI8
	t[0xc2] = i16 // RET imm16
	t[0xc3] = none
	// C4, C5: VEX.
	t[0xc6] = modrmI8 // MOV r/m8, imm8; XABORT
	t[0xc7] = modrmIz // MOV r/m, imm; XBEGIN rel
	t[0xc8] = enter
	t[0xc9] = none // LEAVE
	t[0xca] = i16  // RETF imm16
	t[0xcb] = none
	t[0xcc] = none // INT3
	t[0xcd] = i8   // INT imm8
	// CE: INTO, invalid.
	t[0xcf] = none             // IRET
	set(&t, 0xd0, 0xd3, modrm) // shift group by 1 or CL
	// D4 D5 D6 (AAM AAD SALC): invalid.
	t[0xd7] = none             // XLAT
	set(&t, 0xd8, 0xdf, modrm) // x87
	set(&t, 0xe0, 0xe3, i8)    // LOOPcc, JrCXZ
	set(&t, 0xe4, 0xe7, i8)    // IN, OUT imm8
	t[0xe8] = rel32            // CALL
	t[0xe9] = rel32            // JMP
	// EA: JMPF ptr, invalid.
	t[0xeb] = i8
	set(&t, 0xec, 0xef, none) // IN, OUT DX
	t[0xf1] = none            // INT1
	t[0xf4] = none            // HLT
	t[0xf5] = none            // CMC
	t[0xf6] = grp3b
	t[0xf7] = grp3v
	set(&t, 0xf8, 0xfd, none) // CLC STC CLI STI CLD STD
	t[0xfe] = modrm
	t[0xff] = modrm
	return t
}()

// twoByte is the 0F map (Intel SDM vol. 2, tables; AMD's
// 3DNow! and SSE4a entries). 0F 38 and 0F 3A are handled before it.
var twoByte = func() (t [256]form) {
	set(&t, 0x00, 0x03, modrm) // group 6, group 7, LAR, LSL
	t[0x05] = none             // SYSCALL
	t[0x06] = none             // CLTS
	t[0x07] = none             // SYSRET
	t[0x08] = none             // INVD
	t[0x09] = none             // WBINVD
	t[0x0b] = none             // UD2
	t[0x0d] = modrm            // PREFETCH, PREFETCHW
	t[0x0e] = none             // FEMMS
	// 0F 0F (3DNow!) is handled before the table.
	set(&t, 0x10, 0x1f, modrm) // SSE moves, prefetch, hint NOPs, MPX, CET
	set(&t, 0x20, 0x23, modrmReg)
	set(&t, 0x28, 0x2f, modrm)
	set(&t, 0x30, 0x35, none)  // WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT
	t[0x37] = none             // GETSEC
	set(&t, 0x40, 0x4f, modrm) // CMOVcc
	set(&t, 0x50, 0x6f, modrm)
	set(&t, 0x70, 0x73, modrmI8) // PSHUF*, shift-by-immediate groups
	set(&t, 0x74, 0x76, modrm)
	t[0x77] = none // EMMS
	t[0x78] = sse4a
	t[0x79] = modrm // VMWRITE, EXTRQ/INSERTQ by register
	set(&t, 0x7c, 0x7f, modrm)
	set(&t, 0x80, 0x8f, rel32) // Jcc rel32
	set(&t, 0x90, 0x9f, modrm) // SETcc
	set(&t, 0xa0, 0xa2, none)  // PUSH FS, POP FS, CPUID
	t[0xa3] = modrm            // BT
	t[0xa4] = modrmI8          // SHLD imm8
	t[0xa5] = modrm            // SHLD CL
	set(&t, 0xa6, 0xa7, modrm) // VIA PadLock (XSHA*, MONTMUL, XSTORE, XCRYPT*): a fixed ModRM byte
	set(&t, 0xa8, 0xaa, none)  // PUSH GS, POP GS, RSM
	t[0xab] = modrm            // BTS
	t[0xac] = modrmI8          // SHRD imm8
	set(&t, 0xad, 0xb8, modrm) // SHRD CL, group 15, IMUL, CMPXCHG, LSS, BTR, LFS, LGS, MOVZX, POPCNT
	// UD1: Intel defines a ModRM, but the Go assembler emits the two
	// bytes alone and the next instruction right after them (it traps
	// either way), and the sweep follows what Go emitted.
	t[0xb9] = none
	t[0xba] = modrmI8          // group 8: BT* imm8
	set(&t, 0xbb, 0xc1, modrm) // BTC, BSF/TZCNT, BSR/LZCNT, MOVSX, XADD
	t[0xc2] = modrmI8          // CMPPS...
	t[0xc3] = modrm            // MOVNTI
	set(&t, 0xc4, 0xc6, modrmI8)
	t[0xc7] = modrm            // group 9
	set(&t, 0xc8, 0xcf, none)  // BSWAP
	set(&t, 0xd0, 0xff, modrm) // MMX/SSE; FF is UD0
	return t
}()

// vexImm8 lists the opcodes of VEX/EVEX map 1 (0F) that take an imm8,
// the same ones as in the legacy 0F map that VEX can encode.
func vexImm8(op byte) bool {
	switch op {
	case 0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6:
		return true
	}
	return false
}

// Decode decodes the instruction at the start of b.
func Decode(b []byte) (Inst, error) {
	var in Inst
	d := decoder{b: b}
	err := d.decode(&in)
	if err != nil {
		return Inst{}, fmt.Errorf("% x: %w", b[:min(len(b), MaxLen)], err)
	}
	return in, nil
}

type decoder struct {
	b   []byte
	pos int
}

func (d *decoder) next() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, ErrTruncated
	}
	if d.pos >= MaxLen {
		return 0, ErrTooLong
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

// peek returns the byte after the current one without consuming it.
func (d *decoder) peek() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, ErrTruncated
	}
	return d.b[d.pos], nil
}

// skip consumes n bytes.
func (d *decoder) skip(n int) error {
	if d.pos+n > MaxLen {
		return ErrTooLong
	}
	if d.pos+n > len(d.b) {
		return ErrTruncated
	}
	d.pos += n
	return nil
}

func (d *decoder) decode(in *Inst) error {
	var (
		rexW     bool // REX.W of a REX immediately before the opcode
		opsize16 bool // 66
		addr32   bool // 67
		rep      byte // the last of F2/F3, which select SSE4a forms
	)
	var c byte
	for {
		var err error
		c, err = d.next()
		if err != nil {
			return err
		}
		switch oneByte[c] {
		case prefix:
			switch c {
			case 0x66:
				opsize16 = true
			case 0x67:
				addr32 = true
			case 0xf2, 0xf3:
				rep = c
			}
			// A REX followed by a legacy prefix is ignored.
			rexW = false
			continue
		case rex:
			rexW = c&0x08 != 0
			continue
		}
		break
	}
	in.Prefixes = d.pos - 1

	// In 64-bit mode C4, C5 and 62 always start VEX and EVEX (LES, LDS
	// and BOUND do not exist there).
	switch c {
	case 0xc5: // two-byte VEX: map 0F
		if err := d.payload(in, VEX, 1, 0); err != nil {
			return err
		}
		in.Map = Map0F
		return d.vexOperands(in)
	case 0xc4:
		if err := d.payload(in, VEX, 2, 0x1f); err != nil {
			return err
		}
		return d.vexOperands(in)
	case 0x62:
		if err := d.payload(in, EVEX, 3, 0x07); err != nil {
			return err
		}
		return d.vexOperands(in)
	case 0x8f: // XOP when the map field is 8 or more, else POP r/m
		p, err := d.peek()
		if err != nil {
			return err
		}
		if p&0x1f >= 8 {
			if err := d.payload(in, XOP, 2, 0x1f); err != nil {
				return err
			}
			return d.xop(in)
		}
	}

	in.Encoding = Legacy
	in.Map = MapOneByte
	in.Op = c
	f := oneByte[c]
	if f == escape {
		var err error
		if c, err = d.next(); err != nil {
			return err
		}
		in.Map, in.Op = Map0F, c
		switch c {
		case 0x38: // three-byte map: every opcode has ModRM, none an immediate
			if in.Op, err = d.next(); err != nil {
				return err
			}
			in.Map = Map0F38
			f = modrm
		case 0x3a: // three-byte map: ModRM and imm8 throughout
			if in.Op, err = d.next(); err != nil {
				return err
			}
			in.Map = Map0F3A
			f = modrmI8
		case 0x0f: // 3DNow!: ModRM, then the opcode in the imm8 position
			in.Map = Map3DNow
			if err := d.operands(in, 1); err != nil {
				return err
			}
			in.Op = d.b[d.pos-1]
			return nil
		default:
			f = twoByte[c]
			if f == sse4a {
				f = modrm
				if opsize16 || rep == 0xf2 {
					return d.operands(in, 2)
				}
			}
		}
	}

	// The operand size of an iz immediate: REX.W wins over 66 and keeps
	// 32 bits (sign-extended); 66 alone makes it 16.
	izLen := 4
	if opsize16 && !rexW {
		izLen = 2
	}
	switch f {
	case modrm:
		return d.operands(in, 0)
	case modrmI8:
		return d.operands(in, 1)
	case modrmIz:
		return d.operands(in, izLen)
	case grp3b, grp3v:
		m, err := d.peek()
		if err != nil {
			return err
		}
		imm := 0
		if reg := m >> 3 & 7; reg <= 1 { // TEST r/m, imm
			imm = 1
			if f == grp3v {
				imm = izLen
			}
		}
		return d.operands(in, imm)
	}
	var n int // the bytes after the opcode, without a ModRM
	switch f {
	case none:
	case modrmReg, i8:
		n = 1
	case i16:
		n = 2
	case iz:
		n = izLen
	case iv:
		n = izLen
		if rexW {
			n = 8
		}
	case rel32:
		n = 4
	case moffs:
		n = 8
		if addr32 {
			n = 4
		}
	case enter:
		n = 3
	default: // invalid, or a prefix or escape byte where an opcode must be
		return ErrInvalid
	}
	if err := d.skip(n); err != nil {
		return err
	}
	in.Len = d.pos
	return nil
}

// modrm consumes a ModRM byte with its SIB and displacement. 64-bit and
// 32-bit addressing (the 67 prefix) share the same shapes; RIP-relative
// is mod 00, r/m 101.
func (d *decoder) modrm() error {
	m, err := d.next()
	if err != nil {
		return err
	}
	mod, rm := m>>6, m&7
	if mod == 3 {
		return nil
	}
	if rm == 4 {
		sib, err := d.next()
		if err != nil {
			return err
		}
		if mod == 0 && sib&7 == 5 { // no base: disp32
			return d.skip(4)
		}
	}
	switch {
	case mod == 0 && rm == 5:
		return d.skip(4)
	case mod == 1:
		return d.skip(1) // disp8 (EVEX scales it, the length stays 1)
	case mod == 2:
		return d.skip(4)
	}
	return nil
}

// payload consumes the size payload bytes of a VEX, EVEX or XOP prefix
// (its first byte consumed), the first of which holds the opcode map in
// the bits of mapMask.
func (d *decoder) payload(in *Inst, enc Encoding, size int, mapMask byte) error {
	in.Encoding = enc
	p0, err := d.next()
	if err != nil {
		return err
	}
	in.Map = Map(p0 & mapMask)
	return d.skip(size - 1)
}

// vexOperands decodes what follows a VEX or EVEX payload: the opcode,
// ModRM (always, but for VZEROUPPER and VZEROALL) and an imm8 throughout
// map 3 and for the imm8 opcodes of map 1. EVEX maps 5 and 6 (FP16) have
// no immediates; maps 0, 4 (APX), 7 and above are not produced by any Go
// toolchain.
func (d *decoder) vexOperands(in *Inst) error {
	op, err := d.next()
	if err != nil {
		return err
	}
	in.Op = op
	imm := 0
	switch in.Map {
	case Map0F:
		if in.Encoding == VEX && op == 0x77 { // VZEROUPPER, VZEROALL
			in.Len = d.pos
			return nil
		}
		if vexImm8(op) {
			imm = 1
		}
	case Map0F38:
	case Map0F3A:
		imm = 1
	case Map5, Map6:
		if in.Encoding != EVEX {
			return ErrInvalid
		}
	default:
		return ErrInvalid
	}
	return d.operands(in, imm)
}

// xop decodes the rest of an AMD XOP instruction (8F and its payload
// consumed): the opcode, ModRM, and an immediate by map.
func (d *decoder) xop(in *Inst) error {
	var err error
	if in.Op, err = d.next(); err != nil {
		return err
	}
	imm := 0
	switch in.Map {
	case MapXOP8:
		imm = 1
	case MapXOP9:
	case MapXOPA:
		imm = 4
	default:
		return ErrInvalid
	}
	return d.operands(in, imm)
}

// operands consumes a ModRM operand and imm bytes of immediate, and
// records the instruction's length.
func (d *decoder) operands(in *Inst, imm int) error {
	if err := d.modrm(); err != nil {
		return err
	}
	if err := d.skip(imm); err != nil {
		return err
	}
	in.Len = d.pos
	return nil
}
