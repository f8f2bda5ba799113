package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/microguest"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer

	// `make run` spells it with the name first.
	out := filepath.Join(dir, "bin", "hello.hvt")
	if err := run([]string{"hello", "-o", out}, &stdout, &stderr); err != nil {
		t.Fatalf("hello: %v (%s)", err, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, microguest.Host.Hello()) {
		t.Errorf("hello: wrote %d bytes (%v), want Host.Hello()", len(got), err)
	}

	// Options before the name, and parameters.
	out = filepath.Join(dir, "exit.hvt")
	if err := run([]string{"-o", out, "-status", "7", "exit"}, &stdout, &stderr); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, microguest.Host.Exit(7)) {
		t.Error("exit -status 7: not Host.Exit(7)")
	}

	if err := run([]string{"-list"}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "\nhello\n") {
		t.Errorf("-list: %v, %q", err, stdout.String())
	}

	for _, args := range [][]string{
		{"nonesuch", "-o", filepath.Join(dir, "x")},
		{"hello"},
		{"hello", "-o", filepath.Join(dir, "y"), "extra"},
		{"exit", "-status", "4294967296", "-o", filepath.Join(dir, "z")},
		{"-bogus"},
	} {
		if err := run(args, &stdout, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
