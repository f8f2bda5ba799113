package gobuild

import (
	"bytes"
	"context"
	"debug/elf"
	"path/filepath"
	"testing"
)

// A program that imports net gets the network stack (its symbols are in
// the unikernel); one that also calls bindings.OpenNet has the stack's
// takeFirstDevice cleared, so the stack leaves its devices alone; one
// without net has no stack.
func TestNetStackLinking(t *testing.T) {
	for _, tc := range []struct {
		pkg   string
		stack bool
		take  byte
	}{
		{"./tests/goguests/netguest", true, 1},
		{"./tests/oci/pingguest", true, 0},
		{"./examples/hello", false, 0},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "k.hvt")
			var log bytes.Buffer
			if _, err := Build(context.Background(), Options{Package: tc.pkg, Output: out, Dir: moduleRoot(t), Stderr: &log, Net: []string{"service0"}}); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			f, take := elfSymbol(t, out, takeFirstSym)
			if (take != nil) != tc.stack {
				t.Fatalf("network stack linked: %v, want %v", take != nil, tc.stack)
			}
			if take == nil {
				return
			}
			sec := f.Sections[take.Section]
			b := make([]byte, 1)
			if _, err := sec.ReadAt(b, int64(take.Value-sec.Addr)); err != nil {
				t.Fatal(err)
			}
			if b[0] != tc.take {
				t.Errorf("takeFirstDevice = %d, want %d", b[0], tc.take)
			}
		})
	}
}

// elfSymbol opens the executable exe (closed when the test ends) and
// finds its symbol name (nil if it has none).
func elfSymbol(t *testing.T, exe, name string) (*elf.File, *elf.Symbol) {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for i := range syms {
		if syms[i].Name == name {
			return f, &syms[i]
		}
	}
	return f, nil
}
