package gobuild

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	unimon "github.com/unimon/unimon"
)

// The network stack in the standard-library copy of the bindings: a
// package of the standard library cannot import a module, so the test
// GOROOT (makeGOROOT) also holds the stack (bindings/netstack) and every
// package outside the standard library it imports (gVisor's netstack,
// btree, gopacket, golang.org/x/...), copied from the module cache under
// stdPrefix with their imports rewritten. The std copy of the bindings
// then links the stack exactly as the module's own does (NetTag), and
// the standard library's net tests run over it.

// stdPrefix is the directory of GOROOT/src, and the import path prefix,
// of those copies: its first element has no dot, so the go command looks
// for them in GOROOT. (The go command's vendored golang.org/x/net of
// the standard library stays apart: it lives under vendor/.)
const stdPrefix = "unimon/"

// unimonModule is this module's path, which the copies drop.
const unimonModule = "github.com/unimon/unimon"

// depPackage is a package the network stack imports, as go list reports it.
type depPackage struct {
	ImportPath, Dir string
	Standard        bool
	Module          *struct{ Path, Dir string }
}

// netDeps lists the packages outside the standard library that the
// network stack depends on, for every architecture unimon builds for,
// at the versions of the bindings' go.mod: go list runs in a scratch
// module (under work) made of GuestSources' go.mod, go.sum and the
// stack's sources, and reads the packages from the module cache,
// downloading what is missing through the module proxy as go build
// would.
func netDeps(ctx context.Context, goCmd, work string) ([]depPackage, error) {
	mod, err := os.MkdirTemp(work, "netdeps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(mod)
	err = fs.WalkDir(unimon.GuestSources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dir := path.Dir(p)
		if p != "go.mod" && p != "go.sum" && dir != "bindings/netstack" && dir != "bindings/internal/socktab" || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		text, err := fs.ReadFile(unimon.GuestSources, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(mod, filepath.FromSlash(dir)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(mod, filepath.FromSlash(p)), text, 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("the network stack's sources: %w", err)
	}
	seen := map[string]bool{}
	var deps []depPackage
	for _, arch := range Archs() {
		cmd := exec.CommandContext(ctx, goCmd, "list", "-deps", "-json=ImportPath,Dir,Standard,Module", "-tags", BuildTag+","+NetTag, "./bindings/netstack")
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("listing the network stack's dependencies (GOARCH=%s): %w\n%s", arch, err, stderr.String())
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for dec.More() {
			var p depPackage
			if err := dec.Decode(&p); err != nil {
				return nil, fmt.Errorf("go list output: %w", err)
			}
			if p.Standard || p.Module == nil || p.Module.Path == unimonModule || seen[p.ImportPath] {
				continue
			}
			seen[p.ImportPath] = true
			deps = append(deps, p)
		}
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].ImportPath < deps[j].ImportPath })
	return deps, nil
}

// depRoots are the module paths of deps, whose packages are copied.
func depRoots(deps []depPackage) []string {
	var roots []string
	for _, d := range deps {
		if !slices.Contains(roots, d.Module.Path) {
			roots = append(roots, d.Module.Path)
		}
	}
	return roots
}

// stdImportPath is the import path of the standard-library copy of the
// package at import path p, or p itself when p is not copied (roots
// are the module paths that are).
func stdImportPath(p string, roots []string) string {
	if rest, ok := strings.CutPrefix(p, unimonModule+"/"); ok {
		return stdPrefix + rest
	}
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return stdPrefix + p
		}
	}
	return p
}

// rewriteImports returns the Go source text with the import paths of
// copied packages changed to their copies' (stdImportPath). Only import
// declarations change; a file that does not parse is returned as it is
// (the go command skips it, or reports it, at build time).
func rewriteImports(name string, text []byte, roots []string) []byte {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, text, parser.ImportsOnly)
	if err != nil {
		return text
	}
	var out bytes.Buffer
	last := 0
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		np := stdImportPath(p, roots)
		if np == p {
			continue
		}
		start, end := fset.Position(imp.Path.Pos()).Offset, fset.Position(imp.Path.End()).Offset
		out.Write(text[last:start])
		out.WriteString(strconv.Quote(np))
		last = end
	}
	if last == 0 {
		return text
	}
	out.Write(text[last:])
	return out.Bytes()
}

// compilerDirectives are the //go: directives the compiler acts on. It
// ignores others outside the standard library but rejects them inside
// it ("//go:inline is not allowed in the standard library", from gVisor).
var compilerDirectives = map[string]bool{
	"build": true, "linkname": true, "embed": true, "generate": true, "fix": true,
	"noescape": true, "norace": true, "nosplit": true, "noinline": true, "nocheckptr": true,
	"nointerface": true, "uintptrkeepalive": true, "uintptrescapes": true, "registerparams": true,
	"systemstack": true, "nowritebarrier": true, "nowritebarrierrec": true, "yeswritebarrierrec": true,
	"cgo_unsafe_args": true, "wasmimport": true, "wasmexport": true,
}

// plainDirectives turns the //go: directives of Go source text that the
// compiler would ignore outside the standard library into plain
// comments, so that the copy means what the original means.
func plainDirectives(text []byte) []byte {
	lines := bytes.SplitAfter(text, []byte("\n"))
	changed := false
	for i, l := range lines {
		rest, ok := bytes.CutPrefix(l, []byte("//go:"))
		if !ok {
			continue
		}
		verb := string(bytes.TrimRight(rest, " \t\r\n"))
		if j := strings.IndexAny(verb, " \t"); j >= 0 {
			verb = verb[:j]
		}
		if compilerDirectives[verb] || strings.HasPrefix(verb, "cgo_") {
			continue
		}
		lines[i] = append([]byte("// go:"), rest...)
		changed = true
	}
	if !changed {
		return text
	}
	return bytes.Join(lines, nil)
}

// copyNetDeps copies the packages deps into src, each at its
// stdImportPath: the Go files (other than tests, for every platform: the
// go command applies build constraints when it builds), assembly and
// headers, and each module's license files next to its packages.
func copyNetDeps(src string, deps []depPackage) error {
	roots := depRoots(deps)
	mods := map[string]string{}
	for _, d := range deps {
		mods[d.Module.Path] = d.Module.Dir
	}
	for _, d := range deps {
		ents, err := os.ReadDir(d.Dir)
		if err != nil {
			return err
		}
		to := filepath.Join(src, filepath.FromSlash(stdPrefix+d.ImportPath))
		if err := os.MkdirAll(to, 0o755); err != nil {
			return err
		}
		for _, e := range ents {
			n := e.Name()
			goFile := strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go")
			if e.IsDir() || !goFile && !strings.HasSuffix(n, ".s") && !strings.HasSuffix(n, ".h") {
				continue
			}
			text, err := os.ReadFile(filepath.Join(d.Dir, n))
			if err != nil {
				return err
			}
			if goFile {
				text = plainDirectives(rewriteImports(n, text, roots))
			}
			if err := os.WriteFile(filepath.Join(to, n), text, 0o644); err != nil {
				return err
			}
		}
	}
	for mp, dir := range mods {
		licenses, _ := filepath.Glob(filepath.Join(dir, "LICENSE*"))
		for _, l := range licenses {
			text, err := os.ReadFile(l)
			if err != nil {
				return err
			}
			to := filepath.Join(src, filepath.FromSlash(stdPrefix+mp))
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(to, filepath.Base(l)), text, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
