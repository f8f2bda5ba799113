package gobuild

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func TestRewriteImports(t *testing.T) {
	roots := []string{"gvisor.dev/gvisor", "golang.org/x/sys"}
	for _, tc := range []struct{ name, in, want string }{
		{"Single", "package p\n\nimport \"gvisor.dev/gvisor/pkg/tcpip\"\n",
			"package p\n\nimport \"unimon/gvisor.dev/gvisor/pkg/tcpip\"\n"},
		{"Block", "package p\n\nimport (\n\t\"fmt\"\n\tu \"golang.org/x/sys/unix\"\n\t\"github.com/unimon/unimon/bindings/internal/socktab\"\n)\n\nvar s = \"gvisor.dev/gvisor/pkg/tcpip\"\n",
			"package p\n\nimport (\n\t\"fmt\"\n\tu \"unimon/golang.org/x/sys/unix\"\n\t\"unimon/bindings/internal/socktab\"\n)\n\nvar s = \"gvisor.dev/gvisor/pkg/tcpip\"\n"},
		{"ModuleRootItself", "package p\nimport `gvisor.dev/gvisor`\n", "package p\nimport \"unimon/gvisor.dev/gvisor\"\n"},
		{"NotAPrefix", "package p\nimport \"gvisor.dev/gvisorx/a\"\n", "package p\nimport \"gvisor.dev/gvisorx/a\"\n"},
		{"DoesNotParse", "package p\nimport \"gvisor.dev/gvisor/a\n", "package p\nimport \"gvisor.dev/gvisor/a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(rewriteImports("f.go", []byte(tc.in), roots)); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestPlainDirectives(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Unknown", "//go:inline\nfunc f() {}\n", "// go:inline\nfunc f() {}\n"},
		{"Known", "//go:build linux\n\n//go:nosplit\n//go:linkname x runtime.x\n//go:cgo_import_dynamic a b \"c\"\n", "//go:build linux\n\n//go:nosplit\n//go:linkname x runtime.x\n//go:cgo_import_dynamic a b \"c\"\n"},
		{"UnknownWithArgs", "//go:checklocks mu\n", "// go:checklocks mu\n"},
		{"NotAtLineStart", "x := 1 //go:inline\n", "x := 1 //go:inline\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(plainDirectives([]byte(tc.in))); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A standard-library package's test binary gets the standard-library
// copy of the bindings, with the network stack when the package depends
// on net, and without it otherwise, as with the module's bindings.
func TestStdNetStackLinking(t *testing.T) {
	ctx := context.Background()
	b, err := NewTestBuilder(ctx, Options{Dir: moduleRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tc := range []struct {
		pkg   string
		stack bool
	}{
		{"net/textproto", true},
		// net imports context, so context's tests get "net [context.test]".
		{"context", true},
		{"unicode/utf16", false},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			pkgs, err := b.List(ctx, []string{tc.pkg})
			if err != nil || len(pkgs) != 1 {
				t.Fatalf("List: %v, %d packages", err, len(pkgs))
			}
			out := filepath.Join(t.TempDir(), "k.hvt")
			var log bytes.Buffer
			if err := b.BuildTest(ctx, pkgs[0], out, &log); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			_, sym := elfSymbol(t, out, stdBindingsPath+"/netstack.takeFirstDevice")
			if found := sym != nil; found != tc.stack {
				t.Errorf("network stack linked: %v, want %v", found, tc.stack)
			}
		})
	}
}
