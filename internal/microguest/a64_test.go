package microguest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/unimon/unimon/guestabi"
)

// TestA64Encodings checks each instruction form against the encoding an
// aarch64 assembler produces for it (GNU as, as given in the comments).
func TestA64Encodings(t *testing.T) {
	cases := []struct {
		asm  string
		emit func(a *A64)
		want uint32
	}{
		{"mov x0, #1", func(a *A64) { a.Movz(X0, 1, 0) }, 0xd2800020},
		{"movk x1, #1, lsl #32", func(a *A64) { a.Movk(X1, 1, 32) }, 0xf2c00021},
		{"mov x0, x1", func(a *A64) { a.Mov(X0, X1) }, 0xaa0103e0},
		{"str w0, [x1]", func(a *A64) { a.StoreW(X0, X1, 0) }, 0xb9000020},
		{"str x2, [x3, #8]", func(a *A64) { a.StoreX(X2, X3, 8) }, 0xf9000462},
		{"strb w0, [x1, #1]", func(a *A64) { a.StoreB(X0, X1, 1) }, 0x39000420},
		{"ldr x0, [x1, #8]", func(a *A64) { a.LoadX(X0, X1, 8) }, 0xf9400420},
		{"ldr w2, [x22, #24]", func(a *A64) { a.LoadW(X2, X22, 24) }, 0xb9401ac2},
		{"mov x4, sp", func(a *A64) { a.AddImm(X4, SP, 0) }, 0x910003e4},
		{"str x19, [sp, #8]", func(a *A64) { a.StoreX(X19, SP, 8) }, 0xf90007f3},
		{"ldrb w5, [x3]", func(a *A64) { a.LoadB(X5, X3, 0) }, 0x39400065},
		{"add x0, x1, #1", func(a *A64) { a.AddImm(X0, X1, 1) }, 0x91000420},
		{"sub x0, x0, #1", func(a *A64) { a.SubImm(X0, X0, 1) }, 0xd1000400},
		{"subs x4, x4, #1", func(a *A64) { a.SubsImm(X4, X4, 1) }, 0xf1000484},
		{"cmp x0, #0", func(a *A64) { a.CmpImm(X0, 0) }, 0xf100001f},
		{"add x0, x1, x2", func(a *A64) { a.Add(X0, X1, X2) }, 0x8b020020},
		{"sub x3, x3, x2", func(a *A64) { a.Sub(X3, X3, X2) }, 0xcb020063},
		{"cmp x0, x1", func(a *A64) { a.Cmp(X0, X1) }, 0xeb01001f},
		{"hvc #0", func(a *A64) { a.Hvc(0) }, 0xd4000002},
		{"wfi", func(a *A64) { a.Wfi() }, 0xd503207f},
		{"nop", func(a *A64) { a.Nop() }, 0xd503201f},
		{"udf #0", func(a *A64) { a.Udf() }, 0x00000000},
		{"mrs x0, cntvct_el0", func(a *A64) { a.MrsCNTVCT(X0) }, 0xd53be040},
		{"b .", func(a *A64) { a.Label("l"); a.B("l") }, 0x14000000},
		{"b.ne .", func(a *A64) { a.Label("l"); a.BCond(A64NE, "l") }, 0x54000001},
		{"cbz x5, .+8", func(a *A64) { a.Cbz(X5, "l"); a.Nop(); a.Label("l") }, 0xb4000045},
		{"cbnz x0, .+8", func(a *A64) { a.Cbnz(X0, "l"); a.Nop(); a.Label("l") }, 0xb5000040},
		{"tbz x2, #1, .+8", func(a *A64) { a.Tbz(X2, 1, "l"); a.Nop(); a.Label("l") }, 0x36080042},
		{"tbnz x0, #33, .+8", func(a *A64) { a.Tbnz(X0, 33, "l"); a.Nop(); a.Label("l") }, 0xb7080040},
		{"adr x2, .+4", func(a *A64) { a.Adr(X2, "l"); a.Label("l") }, 0x10000022},
		{"adr x0, .+8", func(a *A64) { a.Adr(X0, "l"); a.Nop(); a.Label("l") }, 0x10000040},
	}
	for _, c := range cases {
		var a A64
		c.emit(&a)
		b, err := a.Finish()
		if err != nil {
			t.Errorf("%s: %v", c.asm, err)
			continue
		}
		if got := binary.LittleEndian.Uint32(b); got != c.want {
			t.Errorf("%s: %08x, want %08x", c.asm, got, c.want)
		}
	}
}

func TestA64BackwardBranch(t *testing.T) {
	var a A64
	a.Label("top")
	a.Nop()
	a.Nop()
	a.B("top")            // -2 words
	a.BCond(A64EQ, "top") // -3 words
	b, err := a.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(b[8:]); got != 0x17fffffe {
		t.Errorf("b top = %08x", got)
	}
	if got := binary.LittleEndian.Uint32(b[12:]); got != 0x54ffffa0 {
		t.Errorf("b.eq top = %08x", got)
	}
}

func TestA64MovImm(t *testing.T) {
	var a A64
	a.MovImm(X1, 0x1_0000_0010)
	b, _ := a.Finish()
	want := []uint32{0xd2800201, 0xf2c00021} // movz x1, #0x10; movk x1, #1, lsl #32
	if len(b) != 8 || binary.LittleEndian.Uint32(b) != want[0] || binary.LittleEndian.Uint32(b[4:]) != want[1] {
		t.Errorf("MovImm: % x", b)
	}
}

func TestA64Misuse(t *testing.T) {
	for name, f := range map[string]func(a *A64){
		"undefined label":    func(a *A64) { a.B("nowhere") },
		"duplicate label":    func(a *A64) { a.Label("x"); a.Label("x") },
		"misaligned offset":  func(a *A64) { a.LoadX(X0, X1, 4) },
		"offset too big":     func(a *A64) { a.StoreW(X0, X1, 4*4096) },
		"immediate too big":  func(a *A64) { a.AddImm(X0, X0, 4096) },
		"xzr as destination": func(a *A64) { a.Mov(XZR, X0) },
		"register 32":        func(a *A64) { a.AddImm(X0, 32, 1) },
		"bad shift":          func(a *A64) { a.Movz(X0, 1, 8) },
	} {
		var a A64
		f(&a)
		if _, err := a.Finish(); !errors.Is(err, ErrAsm) {
			t.Errorf("%s: err = %v, want ErrAsm", name, err)
		}
	}
}

// TestA64Catalogue builds every aarch64 guest (each panics if it does not
// assemble) and checks it is an aarch64 Solo5 ELF whose code issues its
// hypercalls with `str w0, [x1]`.
func TestA64Catalogue(t *testing.T) {
	guests := map[string][]byte{
		"hello": A64Hello(), "exit": A64Exit(3), "walltime": A64Walltime(),
		"poll": A64PollTimeout(1000), "block": A64BlockRoundTrip(), "net": A64NetEcho(), "device-echo": A64DeviceEcho(),
		"spin": A64Spin(), "write-text": A64WriteText(), "bad-mmio": A64BadMMIO(),
		"mmio-read": A64MMIORead(), "psci-off": A64PSCI(PSCISystemOff), "boot-info": A64BootInfo(), "mmio-no-syndrome": A64MMIONoSyndrome(), "stack": A64StackTop(), "fpu": A64FPU(),
		"fpu-abort": A64FPUAbort(), "mmu-off-abort": A64MMUOffAbort(),
	}
	for _, c := range HostileCases() {
		img, err := A64Hostile(c.Call, c.Kind)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		guests[c.Name()] = img
	}
	if _, err := A64Hostile(guestabi.HypercallWalltime, HostileHandle); !errors.Is(err, ErrNoSuchCase) {
		t.Errorf("A64Hostile accepted an invalid case: %v", err)
	}
	strW0X1 := binary.LittleEndian.AppendUint32(nil, 0xb9000020)
	for name, img := range guests {
		f, err := elf.NewFile(bytes.NewReader(img))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("%s: machine %v", name, f.Machine)
		}
		if name != "spin" && name != "write-text" && name != "mmio-no-syndrome" && !bytes.Contains(img, strW0X1) {
			t.Errorf("%s: no `str w0, [x1]` in the image", name)
		}
	}
}

func TestBuildA64(t *testing.T) {
	for _, n := range A64Names() {
		img, err := BuildA64(n, Params{Status: 7, N: 3, Timeout: 1000})
		if err != nil || len(img) == 0 {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := BuildA64("no-such-guest", Params{}); !errors.Is(err, ErrUnknownGuest) {
		t.Errorf("unknown name: %v", err)
	}
	// TestCataloguesAgree checks that both catalogues know the portable names.
}
