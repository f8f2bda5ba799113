package gobuild

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/x86len"
)

// walkText on made-up text: where the SYSCALLs are, and errors that name
// the function and the address.
func TestFindSyscalls(t *testing.T) {
	const base = 0x1000
	marker := "eb1df448f44bf4" + strings.Repeat("0f05", 12) + "c3" // the goversion marker, 0f 05 in its data
	tests := []struct {
		name  string
		text  string // hex
		fns   []textFunc
		sites []uint64
		err   string // substring of the error, "" for none
	}{
		{
			name:  "two functions, padding between",
			text:  "4c0f38f6eb0f05c3" + "cccc" + "62f1fe486f46010f05c3",
			fns:   []textFunc{{"a", 0x1000, 0x1008}, {"b", 0x100a, 0x1014}},
			sites: []uint64{0x1005, 0x1011},
		},
		{
			name: "0f 05 inside an immediate is not a SYSCALL",
			text: "48b80f050f050f050f05c3",
			fns:  []textFunc{{"imm", 0x1000, 0x100b}},
		},
		{
			name:  "goversion marker data is skipped",
			text:  marker + "0f05c3",
			fns:   []textFunc{{"crypto/internal/boring/sig.StandardCrypto", 0x1000, 0x1020}, {"next", 0x1020, 0x1023}},
			sites: []uint64{0x1020},
		},
		{
			name: "invalid opcode names its function",
			text: "c3" + "90900f04c3",
			fns:  []textFunc{{"first", 0x1000, 0x1001}, {"second", 0x1001, 0x1006}},
			err:  "at 0x1003 in second+0x2",
		},
		{
			name: "an instruction running past its function",
			text: "90e8000000" + "c3",
			fns:  []textFunc{{"short", 0x1000, 0x1003}, {"next", 0x1005, 0x1006}},
			err:  "in short+0x1: e8 00: instruction truncated: the instruction runs past the end of the function",
		},
		{
			name: "bytes between functions that are not padding",
			text: "c3" + "cc0f05" + "c3",
			fns:  []textFunc{{"first", 0x1000, 0x1001}, {"second", 0x1004, 0x1005}},
			err:  "at 0x1002 after first are in no function",
		},
		{
			name: "bytes after the last function",
			text: "c3cc00",
			fns:  []textFunc{{"only", 0x1000, 0x1001}},
			err:  "at 0x1002 after only",
		},
		{
			name: "SYSCALL with a prefix",
			text: "480f05c3",
			fns:  []textFunc{{"rex", 0x1000, 0x1004}},
			err:  "SYSCALL at 0x1000 in rex+0x0 has prefixes (48 0f 05)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := hex.DecodeString(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			sites, err := findSyscalls(code, base, tt.fns)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrDecode) {
					t.Fatalf("err = %v, want ErrDecode with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sites, tt.sites) {
				t.Errorf("sites %#x, want %#x", sites, tt.sites)
			}
		})
	}
}

// The function list of a real Go binary: the runtime.text marker gives
// way to the function it sits on, size-0 symbols run to the next one,
// and the functions tile .text in order without overlapping.
func TestTextFuncs(t *testing.T) {
	in := buildPlain(t)
	text, fns := textOf(t, in)
	if fns[0].start != text.Addr || fns[0].name == "runtime.text" {
		t.Errorf("first function %+v, text at %#x", fns[0], text.Addr)
	}
	for i, fn := range fns {
		if fn.end <= fn.start {
			t.Errorf("%s: empty (%#x-%#x)", fn.name, fn.start, fn.end)
		}
		if i > 0 && fns[i-1].end > fn.start {
			t.Errorf("%s overlaps %s", fns[i-1].name, fn.name)
		}
	}
	if last := fns[len(fns)-1]; last.end != text.Addr+text.Size {
		t.Errorf("last function %+v ends before the text (%#x)", last, text.Addr+text.Size)
	}
	// And every instruction of it decodes.
	n := 0
	if err := walkText(in[text.Offset:text.Offset+text.Size], text.Addr, fns, func(textFunc, uint64, x86len.Inst) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d functions, %d instructions", len(fns), n)
}

// An instruction the decoder rejects in a real binary is reported in the
// function that holds it, not in runtime.text.
func TestPatchNamesFunction(t *testing.T) {
	in := buildPlain(t)
	f, err := elf.NewFile(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(syms, func(s elf.Symbol) bool { return s.Name == "main.main" })
	if i < 0 {
		t.Fatal("no main.main")
	}
	bad := append([]byte(nil), in...)
	bad[text.Offset+syms[i].Value-text.Addr] = 0x06 // PUSH ES: invalid in 64-bit mode
	_, err = patchSyscalls(f, bad)
	if !errors.Is(err, ErrDecode) || !errors.Is(err, x86len.ErrInvalid) || !strings.Contains(err.Error(), "in main.main+0x0:") {
		t.Fatalf("err = %v, want an invalid opcode in main.main+0x0", err)
	}
	t.Log(err)
}

// textOf returns the .text of the ELF file in and its functions.
func textOf(t *testing.T, in []byte) (*elf.Section, []textFunc) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	if text == nil {
		t.Fatal("no .text")
	}
	fns, err := textFuncs(f, text)
	if err != nil {
		t.Fatal(err)
	}
	return text, fns
}
