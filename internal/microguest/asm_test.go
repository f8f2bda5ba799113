package microguest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// asmCases are single instructions and their encodings, as GNU as
// (binutils 2.40, Intel syntax) assembles them; the asm column is that
// source. Forms where as picks a different but equivalent encoding (the
// accumulator short forms such as `test rax, imm32` = 48 A9) use
// registers for which it does not, so every row can be checked with as.
var asmCases = []struct {
	asm  string
	emit func(a *Asm)
	want string
}{
	{"movabs rax, 0x1122334455667788", func(a *Asm) { a.MovImm64(RAX, 0x1122334455667788) }, "48b88877665544332211"},
	{"movabs r9, 0x1122334455667788", func(a *Asm) { a.MovImm64(R9, 0x1122334455667788) }, "49b98877665544332211"},
	{"mov eax, 0x502", func(a *Asm) { a.MovImm32(RAX, 0x502) }, "b802050000"},
	{"mov edi, 0xfffffff0", func(a *Asm) { a.MovImm32(RDI, 0xfffffff0) }, "bff0ffffff"},
	{"mov r10d, 0x12345678", func(a *Asm) { a.MovImm32(R10, 0x12345678) }, "41ba78563412"},
	{"mov rbx, rsi", func(a *Asm) { a.Mov(RBX, RSI) }, "4889f3"},
	{"mov r8, rsp", func(a *Asm) { a.Mov(R8, RSP) }, "4989e0"},
	{"mov rax, r15", func(a *Asm) { a.Mov(RAX, R15) }, "4c89f8"},
	{"mov rsi, [rdi+24]", func(a *Asm) { a.Load64(RSI, RDI, 24) }, "488b7718"},
	{"mov rax, [rsp]", func(a *Asm) { a.Load64(RAX, RSP, 0) }, "488b0424"},
	{"mov rax, [rbp]", func(a *Asm) { a.Load64(RAX, RBP, 0) }, "488b4500"},
	{"mov rax, [r12+8]", func(a *Asm) { a.Load64(RAX, R12, 8) }, "498b442408"},
	{"mov r13, [r13+0x1000]", func(a *Asm) { a.Load64(R13, R13, 0x1000) }, "4d8bad00100000"},
	{"mov rax, [rax-8]", func(a *Asm) { a.Load64(RAX, RAX, -8) }, "488b40f8"},
	{"mov rax, [rcx-129]", func(a *Asm) { a.Load64(RAX, RCX, -129) }, "488b817fffffff"},
	{"mov eax, [r9+24]", func(a *Asm) { a.Load32(RAX, R9, 24) }, "418b4118"},
	{"mov r11d, [rbx]", func(a *Asm) { a.Load32(R11, RBX, 0) }, "448b1b"},
	{"movzx eax, byte ptr [rbx]", func(a *Asm) { a.Load8(RAX, RBX, 0) }, "0fb603"},
	{"movzx r8d, byte ptr [r13]", func(a *Asm) { a.Load8(R8, R13, 0) }, "450fb64500"},
	{"mov [r8], rsi", func(a *Asm) { a.Store64(R8, 0, RSI) }, "498930"},
	{"mov [r8+8], rbx", func(a *Asm) { a.Store64(R8, 8, RBX) }, "49895808"},
	{"mov [rsp+0x200], rax", func(a *Asm) { a.Store64(RSP, 0x200, RAX) }, "4889842400020000"},
	{"mov [rax], ecx", func(a *Asm) { a.Store32(RAX, 0, RCX) }, "8908"},
	{"mov [r12], r15d", func(a *Asm) { a.Store32(R12, 0, R15) }, "45893c24"},
	{"mov [rbx], al", func(a *Asm) { a.Store8(RBX, 0, RAX) }, "8803"},
	{"mov [rax], sil", func(a *Asm) { a.Store8(RAX, 0, RSI) }, "408830"},
	{"mov [rax], dil", func(a *Asm) { a.Store8(RAX, 0, RDI) }, "408838"},
	{"mov [rcx+1], r9b", func(a *Asm) { a.Store8(RCX, 1, R9) }, "44884901"},
	{"mov dword ptr [rax+4], 0x12345678", func(a *Asm) { a.StoreImm32(RAX, 4, 0x12345678) }, "c7400478563412"},
	{"mov dword ptr [r8], 1", func(a *Asm) { a.StoreImm32(R8, 0, 1) }, "41c70001000000"},
	{"add rbx, 8", func(a *Asm) { a.AddImm(RBX, 8) }, "4883c308"},
	{"add r8, 0x1000", func(a *Asm) { a.AddImm(R8, 0x1000) }, "4981c000100000"},
	{"sub rax, 4", func(a *Asm) { a.SubImm(RAX, 4) }, "4883e804"},
	{"sub rsp, -128", func(a *Asm) { a.SubImm(RSP, -128) }, "4883ec80"},
	{"sub rcx, 256", func(a *Asm) { a.SubImm(RCX, 256) }, "4881e900010000"},
	{"cmp rax, 0", func(a *Asm) { a.CmpImm(RAX, 0) }, "4883f800"},
	{"cmp r9, 127", func(a *Asm) { a.CmpImm(R9, 127) }, "4983f97f"},
	{"cmp rcx, 128", func(a *Asm) { a.CmpImm(RCX, 128) }, "4881f980000000"},
	{"add rbx, rsi", func(a *Asm) { a.Add(RBX, RSI) }, "4801f3"},
	{"sub rbx, rsi", func(a *Asm) { a.Sub(RBX, RSI) }, "4829f3"},
	{"cmp r8, r9", func(a *Asm) { a.Cmp(R8, R9) }, "4d39c8"},
	{"xor rax, rax", func(a *Asm) { a.Xor(RAX, RAX) }, "4831c0"},
	{"test rbx, 2", func(a *Asm) { a.TestImm(RBX, 2) }, "48f7c302000000"},
	{"test r10, 0x10000", func(a *Asm) { a.TestImm(R10, 0x10000) }, "49f7c200000100"},
	{"inc rbx", func(a *Asm) { a.Inc(RBX) }, "48ffc3"},
	{"dec rcx", func(a *Asm) { a.Dec(RCX) }, "48ffc9"},
	{"inc r15", func(a *Asm) { a.Inc(R15) }, "49ffc7"},
	{"out dx, eax", func(a *Asm) { a.OutDXEAX() }, "ef"},
	{"out dx, al", func(a *Asm) { a.OutDXAL() }, "ee"},
	{"hlt", func(a *Asm) { a.Hlt() }, "f4"},
	{"ud2", func(a *Asm) { a.Ud2() }, "0f0b"},
	{"lidt [rax]", func(a *Asm) { a.Lidt(RAX) }, "0f0118"},
	{"lidt [r12]", func(a *Asm) { a.Lidt(R12) }, "410f011c24"},
	{"lgdt [rbp]", func(a *Asm) { a.Lgdt(RBP) }, "0f015500"},
	{"lgdt [rcx]", func(a *Asm) { a.Lgdt(RCX) }, "0f0111"},
	{"rdtsc", func(a *Asm) { a.Rdtsc() }, "0f31"},
	{"cli", func(a *Asm) { a.Cli() }, "fa"},
	{"pause", func(a *Asm) { a.Pause() }, "f390"},
	{"nop", func(a *Asm) { a.Nop() }, "90"},
}

func TestEncodings(t *testing.T) {
	for _, tc := range asmCases {
		var a Asm
		tc.emit(&a)
		got, err := a.Finish()
		if err != nil {
			t.Errorf("%s: %v", tc.asm, err)
			continue
		}
		if h := hex.EncodeToString(got); h != tc.want {
			t.Errorf("%s: got %s, want %s", tc.asm, h, tc.want)
		}
		if a.Instructions() != 1 {
			t.Errorf("%s: counted %d instructions, want 1", tc.asm, a.Instructions())
		}
	}
}

// Jumps and RIP-relative Lea measure from the end of the instruction,
// forwards and backwards, and a label can be used before it is defined.
func TestLabels(t *testing.T) {
	var a Asm
	a.Label("top")           // 0
	a.Jmp("end")             // 0: e9 rel32 -> end
	a.Lea(RAX, "data")       // 5: 48 8d 05 rel32 -> data
	a.Jcc(CondNE, "top")     // 12: 0f 85 rel32 -> top
	a.Jcc(CondE, "end")      // 18: 0f 84 rel32 -> end
	a.Label("here")          // 24
	a.Jmp("here")            // 24: jmp . = e9 fbffffff
	a.Label("end")           // 29
	a.Lea(R9, "top")         // 29: 4c 8d 0d rel32 -> top
	a.Label("data")          // 36
	a.Bytes([]byte{1, 2, 3}) // 36
	a.Align(8)               // 39 -> 40
	got, err := a.Finish()
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"e918000000" + // jmp end: 5 -> 29 = +24
		"488d0518000000" + // lea rax, [rip+data]: 12 -> 36 = +24
		"0f85eeffffff" + // jne top: 18 -> 0 = -18
		"0f8405000000" + // je end: 24 -> 29 = +5
		"e9fbffffff" + // jmp here: 29 -> 24 = -5
		"4c8d0ddcffffff" + // lea r9, [rip+top]: 36 -> 0 = -36
		"010203" + "cc" // data, then int3 padding to 40
	if h := hex.EncodeToString(got); h != want {
		t.Errorf("got  %s\nwant %s", h, want)
	}
	if a.Instructions() != 6 {
		t.Errorf("counted %d instructions, want 6", a.Instructions())
	}
	// Finish can be called again and gives the same bytes.
	again, err := a.Finish()
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("second Finish: %x, %v", again, err)
	}
}

func TestAsmErrors(t *testing.T) {
	tests := []struct {
		name string
		emit func(a *Asm)
		msg  string
	}{
		{"undefined label", func(a *Asm) { a.Jmp("nowhere"); a.Lea(RAX, "nowhere"); a.Jmp("also") }, `undefined labels ["also" "nowhere"]`},
		{"duplicate label", func(a *Asm) { a.Label("x"); a.Nop(); a.Label("x") }, `label "x" defined twice`},
		{"empty label", func(a *Asm) { a.Label("") }, "empty label name"},
		{"bad register", func(a *Asm) { a.Nop(); a.Mov(RAX, Reg(16)) }, "instruction 1: invalid register 16"},
		{"bad condition", func(a *Asm) { a.Label("l"); a.Jcc(Cond(16), "l") }, "invalid condition 16"},
		{"bad alignment", func(a *Asm) { a.Align(3) }, "alignment 3 is not a power of two"},
		{"first error wins", func(a *Asm) { a.Label(""); a.Load64(Reg(99), RAX, 0) }, "empty label name"},
	}
	for _, tt := range tests {
		var a Asm
		tt.emit(&a)
		_, err := a.Finish()
		if !errors.Is(err, ErrAsm) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want ErrAsm containing %q", tt.name, err, tt.msg)
		}
	}
}

func TestRegString(t *testing.T) {
	if RAX.String() != "rax" || R15.String() != "r15" || Reg(16).String() != "Reg(16)" {
		t.Errorf("got %v %v %v", RAX, R15, Reg(16))
	}
}
