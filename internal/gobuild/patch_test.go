package gobuild

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// plain is the program of buildPlain, built once per test binary.
var plain struct {
	once sync.Once
	exe  []byte
	err  error
}

// buildPlain links an ordinary Go program the way Build does, without the
// bindings, so the patcher can be tested on its own. Callers must not
// modify the bytes.
func buildPlain(t *testing.T) []byte {
	t.Helper()
	plain.once.Do(func() { plain.exe, plain.err = linkPlain() })
	if plain.err != nil {
		t.Fatal(plain.err)
	}
	return plain.exe
}

func linkPlain() ([]byte, error) {
	dir, err := os.MkdirTemp("", "unimon-plain-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src := "package main\n\nimport (\"crypto/rand\"; \"fmt\"; \"os\"; \"time\")\n\nfunc main() { b := make([]byte, 8); rand.Read(b); fmt.Println(os.Args, time.Now(), b) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module plain\ngo 1.26\n"), 0o644); err != nil {
		return nil, err
	}
	exe := filepath.Join(dir, "plain")
	cmd := exec.Command(filepath.Join(runtimeGOROOT(), "bin", "go"), "build", "-o", exe, "-ldflags=-T=0x101000", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return os.ReadFile(exe)
}

// Every patched address held a SYSCALL in the original (decoded, not
// matched), now holds UD2, and nothing else in the file changed.
func TestPatchSyscalls(t *testing.T) {
	in := buildPlain(t)
	f, err := elf.NewFile(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), in...)
	sites, err := patchSyscalls(f, out)
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	off := func(a uint64) uint64 { return text.Offset + a - text.Addr }
	if len(sites) < 10 {
		t.Fatalf("only %d SYSCALL sites found", len(sites))
	}
	for _, a := range sites {
		inst, err := x86asm.Decode(in[off(a):], 64)
		if err != nil || inst.Op != x86asm.SYSCALL {
			t.Errorf("%#x: original decodes as %v (%v), want SYSCALL", a, inst, err)
		}
		inst, err = x86asm.Decode(out[off(a):], 64)
		if err != nil || inst.Op != x86asm.UD2 {
			t.Errorf("%#x: patched decodes as %v (%v), want UD2", a, inst, err)
		}
	}
	diff := 0
	for i := range in {
		if in[i] != out[i] {
			diff++
		}
	}
	if diff != len(sites) {
		t.Errorf("%d bytes changed for %d sites", diff, len(sites))
	}
	// The raw byte pattern occurs more often than real SYSCALLs do: the
	// decoder is needed.
	t.Logf("%d SYSCALL sites, %d raw 0f 05 byte pairs in .text", len(sites), bytes.Count(in[text.Offset:text.Offset+text.Size], []byte{0x0f, 0x05}))
}
