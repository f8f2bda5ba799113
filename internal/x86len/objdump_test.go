package x86len

import (
	"bufio"
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// randomInstruction fills b (15 bytes) with random bytes shaped like an
// instruction of one of the encodings, so that every map gets samples.
func randomInstruction(r *rand.Rand, b []byte) {
	r.Read(b)
	switch r.Intn(8) {
	case 0: // legacy prefixes, then anything
		b[0] = []byte{0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x64, 0x48, 0x41}[r.Intn(8)]
	case 1:
		b[0] = 0x0f
	case 2:
		b[0], b[1] = 0x0f, []byte{0x38, 0x3a}[r.Intn(2)]
	case 3:
		b[0] = 0xc5
	case 4: // VEX3, maps 1-3
		b[0], b[1] = 0xc4, b[1]&^0x1f|byte(1+r.Intn(3))
	case 5: // EVEX, maps 1, 2, 3, 5, 6, with the fixed bits right
		b[0], b[1], b[2] = 0x62, b[1]&^0x0f|[]byte{1, 2, 3, 5, 6}[r.Intn(5)], b[2]|0x04
	case 6: // XOP maps 8-A
		b[0], b[1] = 0x8f, b[1]&^0x1f|byte(8+r.Intn(3))
	default: // the one-byte map
	}
}

// objdumpPrefixOnly reports whether objdump's text for an instruction is
// only prefixes: it prints a REX or legacy prefix that does not directly
// precede an opcode as an instruction of its own, where the CPU (and
// Decode) take it as part of the next one.
func objdumpPrefixOnly(text string) bool {
	for _, f := range strings.Fields(text) {
		switch {
		case strings.HasPrefix(f, "rex"):
		case f == "data16", f == "addr32", f == "repz", f == "repnz", f == "rep", f == "lock", f == "bnd", f == "notrack":
		case f == "cs", f == "ds", f == "es", f == "ss", f == "fs", f == "gs":
		default:
			return false
		}
	}
	return true
}

// Random instructions of every encoding decode to the length GNU objdump
// gives them, except where objdump disagrees by design: the prefix-only
// lines above, a 66 prefix on a near branch (objdump applies AMD's rel16,
// Decode Intel's rel32), UD1 (Decode follows the Go assembler, which
// emits no ModRM) and FWAIT (objdump joins it to the x87 instruction
// after it).
func TestAgainstObjdump(t *testing.T) {
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Fatalf("objdump (binutils, installed by make deps): %v", err)
	}
	const slot, n = 32, 40000
	// Each sample at the start of a slot, NOPs after it, so objdump is
	// back in step at the next slot whatever it made of the sample.
	buf := bytes.Repeat([]byte{0x90}, slot*n)
	r := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		randomInstruction(r, buf[i*slot:i*slot+MaxLen])
	}
	path := filepath.Join(t.TempDir(), "random.bin")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("objdump", "-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn", path).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	var addrs []int
	var texts []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		a, text, ok := strings.Cut(strings.TrimLeft(sc.Text(), " "), ":\t")
		if v, err := strconv.ParseUint(a, 16, 64); ok && err == nil {
			addrs = append(addrs, int(v))
			texts = append(texts, text)
		}
	}
	agree := map[Encoding]int{}
	for i, a := range addrs {
		if a%slot != 0 || i+1 == len(addrs) {
			continue
		}
		theirs, text, code := addrs[i+1]-a, texts[i], buf[a:a+slot]
		if strings.Contains(text, "(bad)") || objdumpPrefixOnly(text) {
			continue
		}
		in, err := Decode(code)
		switch {
		case err != nil:
			t.Errorf("% x: %v; objdump: %d bytes, %s", code[:MaxLen], err, theirs, text)
		case in.Len == theirs:
			agree[in.Encoding]++
		case in.Encoding == Legacy && in.Prefixes > 0 && (in.Map == MapOneByte && (in.Op == 0xe8 || in.Op == 0xe9) || in.Map == Map0F && in.Op&0xf0 == 0x80):
		case in.Encoding == Legacy && in.Map == Map0F && in.Op == 0xb9:
		case in.Encoding == Legacy && in.Map == MapOneByte && in.Op == 0x9b:
		default:
			t.Errorf("% x: %d bytes (%v map %d op %#x); objdump: %d bytes, %s", code[:MaxLen], in.Len, in.Encoding, in.Map, in.Op, theirs, text)
		}
	}
	// Most random EVEX and XOP samples pick an opcode or a field
	// combination that does not exist, which objdump calls (bad).
	for e, least := range map[Encoding]int{Legacy: 5000, VEX: 500, EVEX: 100, XOP: 10} {
		if agree[e] < least {
			t.Errorf("only %d %v samples compared", agree[e], e)
		}
	}
	t.Logf("%d random instructions, the same length as objdump gives them: %v", n, agree)
}
