package sample

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDouble(t *testing.T) {
	if Double(21) != 42 {
		t.Fatal("Double(21) != 42")
	}
}

func TestTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/hello.txt")
	if err != nil || string(b) != "from testdata\n" {
		t.Fatalf("testdata/hello.txt: %q, %v", b, err)
	}
}

func TestTempDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "x" {
		t.Fatalf("read back %q, %v", b, err)
	}
}

func TestDeliberateFailure(t *testing.T) {
	t.Fatal("failing on purpose")
}
