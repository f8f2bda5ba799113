package x86len

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// asmEncoding is one expected encoding from the Go assembler's tests.
type asmEncoding struct {
	file string
	line int
	text string // the assembly (or the TODO's disassembly)
	code []byte
	todo bool // a //TODO: line: an encoding the assembler cannot produce yet
}

var hexRE = regexp.MustCompile(`^[0-9a-f]+$`)

// goAsmEncodings reads every encoding the amd64 test files of the Go
// assembler (cmd/asm/internal/asm/testdata) list in their comments,
// "INSTR args // 48c7c0...", with alternatives joined by "or".
func goAsmEncodings(t *testing.T) []asmEncoding {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "src", "cmd", "asm", "internal", "asm", "testdata")
	files, _ := filepath.Glob(filepath.Join(dir, "amd64*.s"))
	more, _ := filepath.Glob(filepath.Join(dir, "avx512enc", "*.s"))
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("found only %d amd64 test files under %s", len(files), dir)
	}
	var encs []asmEncoding
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			i := strings.LastIndex(line, "//")
			if i < 0 {
				continue
			}
			text := strings.TrimSpace(line[:i])
			todo := false
			if rest, ok := strings.CutPrefix(text, "//TODO:"); ok {
				text, todo = strings.TrimSpace(rest), true
			}
			if text == "" || strings.HasPrefix(text, "//") {
				continue
			}
			for _, alt := range strings.Split(strings.TrimSpace(line[i+2:]), " or ") {
				if !hexRE.MatchString(alt) || len(alt)%2 != 0 {
					continue // a comment that is not an encoding
				}
				code, _ := hex.DecodeString(alt)
				encs = append(encs, asmEncoding{filepath.Base(name), n, text, code, todo})
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return encs
}

// Every encoding in the Go assembler's amd64 tests decodes to exactly its
// length, including the TODO lines (valid x86 the assembler cannot
// produce yet); every shorter prefix of it is reported truncated.
func TestGoAssemblerEncodings(t *testing.T) {
	encs := goAsmEncodings(t)
	byEnc := map[Encoding]int{}
	byFile := map[string]int{}
	todos, x86asmChecked := 0, 0
	for _, e := range encs {
		in, err := Decode(e.code)
		if err != nil {
			t.Errorf("%s:%d %s (% x): %v", e.file, e.line, e.text, e.code, err)
			continue
		}
		if in.Len != len(e.code) {
			// A few lines are pseudo-instructions assembled into more
			// than one instruction: the sequence must still end exactly.
			n, count := in.Len, 1
			for n < len(e.code) {
				next, err := Decode(e.code[n:])
				if err != nil {
					break
				}
				n += next.Len
				count++
			}
			if n != len(e.code) {
				t.Errorf("%s:%d %s (% x): decoded length %d, want %d", e.file, e.line, e.text, e.code, in.Len, len(e.code))
				continue
			}
			t.Logf("%s:%d %s: %d instructions", e.file, e.line, e.text, count)
		}
		if in.Len == len(e.code) {
			// Decoding stops exactly at the end: every shorter prefix of
			// the bytes is truncated, and what follows is not looked at.
			for k := 0; k < len(e.code); k++ {
				if _, err := Decode(e.code[:k]); !errors.Is(err, ErrTruncated) {
					t.Errorf("%s:%d %s: first %d of %d bytes: err %v, want ErrTruncated", e.file, e.line, e.text, k, len(e.code), err)
					break
				}
			}
			if more, err := Decode(append(slices.Clip(e.code), 0x0f, 0x05, 0x48, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); err != nil || more != in {
				t.Errorf("%s:%d %s: with bytes after it: %+v, %v, want %+v", e.file, e.line, e.text, more, err, in)
			}
		}
		// x86asm, an independent decoder, agrees wherever it knows the
		// instruction (where it does not, it returns a lone prefix, Op 0,
		// or takes VEX for LES/LDS).
		if x, err := x86asm.Decode(e.code, 64); err == nil && x.Op != 0 && in.Encoding == Legacy {
			if x.Len != in.Len {
				t.Errorf("%s:%d %s (% x): length %d, x86asm says %d (%v)", e.file, e.line, e.text, e.code, in.Len, x.Len, x)
			}
			x86asmChecked++
		}
		byEnc[in.Encoding]++
		byFile[e.file]++
		if e.todo {
			todos++
		}
	}
	if len(encs) < 20000 {
		t.Errorf("only %d encodings found in the Go assembler's tests", len(encs))
	}
	var files []string
	for f, n := range byFile {
		files = append(files, f+":"+strconv.Itoa(n))
	}
	sort.Strings(files)
	t.Logf("%d encodings (%d from TODO lines): legacy %d, VEX %d, EVEX %d; x86asm agreed on %d; per file %s",
		len(encs), todos, byEnc[Legacy], byEnc[VEX], byEnc[EVEX], x86asmChecked, strings.Join(files, " "))
}

// The odd cases, each spelled out.
func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		code string
		len  int
		enc  Encoding
		m    Map
		op   byte
	}{
		{"SYSCALL", "0f05", 2, Legacy, Map0F, 0x05},
		{"UD2", "0f0b", 2, Legacy, Map0F, 0x0b},
		{"NOP", "90", 1, Legacy, MapOneByte, 0x90},
		{"long NOP", "660f1f840000000000", 9, Legacy, Map0F, 0x1f},
		{"ADCX", "4c0f38f6eb", 5, Legacy, Map0F38, 0xf6},
		{"ADOX", "f34c0f38f6eb", 6, Legacy, Map0F38, 0xf6},
		{"MOVBE load", "0f38f007", 4, Legacy, Map0F38, 0xf0},
		{"CRC32B", "f20f38f0c1", 5, Legacy, Map0F38, 0xf0},
		{"CRC32Q", "f2480f38f1c1", 6, Legacy, Map0F38, 0xf1},
		{"PALIGNR imm8", "660f3a0fc104", 6, Legacy, Map0F3A, 0x0f},
		{"PSHUFD imm8", "660f70c11b", 5, Legacy, Map0F, 0x70},
		{"SHLD imm8", "0fa4c203", 4, Legacy, Map0F, 0xa4},
		{"BT imm8", "0fba2005", 4, Legacy, Map0F, 0xba},
		{"TESTB imm8 (F6 /0)", "f60001", 3, Legacy, MapOneByte, 0xf6},
		{"NEGB (F6 /3)", "f618", 2, Legacy, MapOneByte, 0xf6},
		{"TESTL imm32 (F7 /0)", "f70001000000", 6, Legacy, MapOneByte, 0xf7},
		{"TESTW imm16 (66 F7 /0)", "66f7000100", 5, Legacy, MapOneByte, 0xf7},
		{"TESTQ imm32 (REX.W F7 /0)", "48f70001000000", 7, Legacy, MapOneByte, 0xf7},
		{"DIVQ (F7 /6)", "48f7f1", 3, Legacy, MapOneByte, 0xf7},
		{"MOVQ imm64", "48b88877665544332211", 10, Legacy, MapOneByte, 0xb8},
		{"MOVL imm32", "b844332211", 5, Legacy, MapOneByte, 0xb8},
		{"MOVW imm16", "66b82211", 4, Legacy, MapOneByte, 0xb8},
		{"66 then REX.W: imm64", "6648b88877665544332211", 11, Legacy, MapOneByte, 0xb8},
		{"REX then 66: REX ignored, imm16", "4866b82211", 5, Legacy, MapOneByte, 0xb8},
		{"MOV AL, moffs64", "a08877665544332211", 9, Legacy, MapOneByte, 0xa0},
		{"MOV RAX, moffs64 (REX.W)", "48a18877665544332211", 10, Legacy, MapOneByte, 0xa1},
		{"MOV EAX, moffs32 (67)", "67a144332211", 6, Legacy, MapOneByte, 0xa1},
		{"ENTER", "c8100001", 4, Legacy, MapOneByte, 0xc8},
		{"RET imm16", "c20800", 3, Legacy, MapOneByte, 0xc2},
		{"CALL rel32", "e800000000", 5, Legacy, MapOneByte, 0xe8},
		{"Jcc rel32", "0f8400000000", 6, Legacy, Map0F, 0x84},
		{"Jcc rel32, 66 ignored (Intel)", "660f8400000000", 7, Legacy, Map0F, 0x84},
		{"Jcc rel8", "74fe", 2, Legacy, MapOneByte, 0x74},
		{"XBEGIN", "c7f800000000", 6, Legacy, MapOneByte, 0xc7},
		{"XABORT", "c6f801", 3, Legacy, MapOneByte, 0xc6},
		{"MOV CR0 ignores mod", "0f2000", 3, Legacy, Map0F, 0x20},
		{"RIP-relative", "488b0500000000", 7, Legacy, MapOneByte, 0x8b},
		{"SIB no base disp32", "8b042500000000", 7, Legacy, MapOneByte, 0x8b},
		{"SIB disp8", "8b442408", 4, Legacy, MapOneByte, 0x8b},
		{"SIB base RBP mod 1", "8b442d08", 4, Legacy, MapOneByte, 0x8b},
		{"disp32", "8b8000010000", 6, Legacy, MapOneByte, 0x8b},
		{"67 addressing", "678b00", 3, Legacy, MapOneByte, 0x8b},
		{"segment FS", "64488b042500000000", 9, Legacy, MapOneByte, 0x8b},
		{"LOCK CMPXCHG", "f0480fb111", 5, Legacy, Map0F, 0xb1},
		{"RDRAND", "480fc7f0", 4, Legacy, Map0F, 0xc7},
		{"RDSEED", "0fc7f8", 3, Legacy, Map0F, 0xc7},
		{"RDTSCP", "0f01f9", 3, Legacy, Map0F, 0x01},
		{"ENDBR64", "f30f1efa", 4, Legacy, Map0F, 0x1e},
		{"3DNow! PFADD", "0f0fc19e", 4, Legacy, Map3DNow, 0x9e},
		{"3DNow! with disp8", "0f0f4008b4", 5, Legacy, Map3DNow, 0xb4},
		{"EXTRQ imm", "660f78c00408", 6, Legacy, Map0F, 0x78},
		{"INSERTQ imm", "f20f78c10408", 6, Legacy, Map0F, 0x78},
		{"VMREAD", "0f78c1", 3, Legacy, Map0F, 0x78},
		{"XSHA1 (VIA)", "f30fa6c8", 4, Legacy, Map0F, 0xa6},
		{"XSTORE (VIA)", "0fa7c0", 3, Legacy, Map0F, 0xa7},
		{"x87 FLD", "d9442408", 4, Legacy, MapOneByte, 0xd9},
		{"POP r/m (8F /0)", "8f00", 2, Legacy, MapOneByte, 0x8f},
		{"FWAIT is an instruction of its own", "9bdfe0", 1, Legacy, MapOneByte, 0x9b},
		{"PAUSE", "f390", 2, Legacy, MapOneByte, 0x90},
		{"REP MOVSQ", "f348a5", 3, Legacy, MapOneByte, 0xa5},
		{"POPCNT", "f3480fb8c1", 5, Legacy, Map0F, 0xb8},
		{"UD1 as Go emits it", "0fb9", 2, Legacy, Map0F, 0xb9},
		{"INT imm8", "cd80", 2, Legacy, MapOneByte, 0xcd},
		{"PUSH imm32", "6800010000", 5, Legacy, MapOneByte, 0x68},
		{"IMUL imm8", "486bc00a", 4, Legacy, MapOneByte, 0x6b},
		{"IMUL imm16 (66)", "6669c00001", 5, Legacy, MapOneByte, 0x69},
		{"ADD AX, imm16", "66050001", 4, Legacy, MapOneByte, 0x05},
		{"ADD RAX, imm32 (REX.W)", "480500010000", 6, Legacy, MapOneByte, 0x05},
		{"16 prefixes would be too many, 14 are fine", "6666666666666666666666666666" + "90", 15, Legacy, MapOneByte, 0x90},
		{"VZEROUPPER", "c5f877", 3, VEX, Map0F, 0x77},
		{"VZEROUPPER (VEX3)", "c4e17877", 4, VEX, Map0F, 0x77},
		{"VMOVDQU", "c5fe6f06", 4, VEX, Map0F, 0x6f},
		{"VPSHUFD imm8", "c5fd70c11b", 5, VEX, Map0F, 0x70},
		{"VPSRLDQ imm8", "c5f573d808", 5, VEX, Map0F, 0x73},
		{"VPERM2I128", "c4e37d46c120", 6, VEX, Map0F3A, 0x46},
		{"MULX (BMI2)", "c4e2fbf6c1", 5, VEX, Map0F38, 0xf6},
		{"ANDN (BMI1)", "c4e2f0f2c2", 5, VEX, Map0F38, 0xf2},
		{"RORX imm8", "c4e3fbf0c10d", 6, VEX, Map0F3A, 0xf0},
		{"VEX with 67", "67c5fe6f06", 5, VEX, Map0F, 0x6f},
		{"EVEX VMOVDQU64", "62f1fe486f06", 6, EVEX, Map0F, 0x6f},
		{"EVEX disp8*N", "62f1fe486f4601", 7, EVEX, Map0F, 0x6f},
		{"EVEX VPTERNLOGD imm8", "62f3754825c196", 7, EVEX, Map0F3A, 0x25},
		{"EVEX VPSHUFD imm8", "62f17d4870c11b", 7, EVEX, Map0F, 0x70},
		{"EVEX FP16 map 5", "62f57c4858c2", 6, EVEX, Map5, 0x58},
		{"EVEX FP16 map 6", "62f67d484cc2", 6, EVEX, Map6, 0x4c},
		{"XOP VPROTB imm8", "8fe878c0c102", 6, XOP, MapXOP8, 0xc0},
		{"XOP map 9", "8fe97890c1", 5, XOP, MapXOP9, 0x90},
		{"XOP BEXTR imm32", "8fea7810c101000000", 9, XOP, MapXOPA, 0x10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := hex.DecodeString(tt.code)
			if err != nil {
				t.Fatal(err)
			}
			in, err := Decode(code)
			if err != nil {
				t.Fatal(err)
			}
			if in.Len != tt.len || in.Encoding != tt.enc || in.Map != tt.m || in.Op != tt.op {
				t.Errorf("Decode(% x) = %+v, want len %d %v map %d op %#x", code, in, tt.len, tt.enc, tt.m, tt.op)
			}
			if in.IsSyscall() != (tt.name == "SYSCALL") {
				t.Errorf("IsSyscall = %v", in.IsSyscall())
			}
		})
	}
}

// What does not exist in 64-bit mode, or runs past 15 bytes or the end of
// the input, is an error that says which.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"", ErrTruncated},
		{"66", ErrTruncated},
		{"48", ErrTruncated},
		{"0f", ErrTruncated},
		{"0f38", ErrTruncated},
		{"8b", ErrTruncated},
		{"8b04", ErrTruncated},
		{"8b0425000000", ErrTruncated},
		{"48b8887766", ErrTruncated},
		{"c5", ErrTruncated},
		{"62f1fe48", ErrTruncated},
		{"06", ErrInvalid},     // PUSH ES
		{"27", ErrInvalid},     // DAA
		{"60", ErrInvalid},     // PUSHA
		{"82c001", ErrInvalid}, // 82 alias of 80
		{"9a", ErrInvalid},     // CALLF ptr
		{"ce", ErrInvalid},     // INTO
		{"d40a", ErrInvalid},   // AAM
		{"ea", ErrInvalid},     // JMPF ptr
		{"0f04", ErrInvalid},
		{"0f0a", ErrInvalid},
		{"0f24c0", ErrInvalid}, // MOV from TR
		{"0f3b", ErrInvalid},
		{"0f7a", ErrInvalid},
		{"c4e0", ErrTruncated},
		{"c4e07800c0", ErrInvalid},   // VEX map 0
		{"c4e77800c0", ErrInvalid},   // VEX map 7
		{"62f4fe4800c0", ErrInvalid}, // EVEX map 4 (APX)
		{"8fec7800c0", ErrInvalid},   // XOP map 12
		{"6666666666666666666666666666669090", ErrTooLong},
		{"66666666666666666666666648b88877665544332211", ErrTooLong},
	}
	for _, tt := range tests {
		code, err := hex.DecodeString(tt.code)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(code); !errors.Is(err, tt.want) {
			t.Errorf("Decode(% x): %v, want %v", code, err, tt.want)
		}
	}
}

// Decode never panics, stays within the input and MaxLen, and decodes
// the same instruction from exactly its own bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"0f05", "4c0f38f6eb", "62f1fe486f4601", "c4e3fbf0c10d", "48b88877665544332211", "f70001000000", "0f0f4008b4", "8fea7810c101000000"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := Decode(b)
		if err != nil {
			return
		}
		if in.Len <= 0 || in.Len > len(b) || in.Len > MaxLen || in.Prefixes >= in.Len {
			t.Fatalf("Decode(% x) = %+v", b, in)
		}
		again, err := Decode(b[:in.Len])
		if err != nil || again != in {
			t.Fatalf("Decode(% x) = %+v, but on its own %+v, %v", b[:in.Len], in, again, err)
		}
	})
}
