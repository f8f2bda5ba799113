package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	unimon "github.com/unimon/unimon"
)

// The bindings as a standard-library package: a test binary of a package
// whose module does not require this one (the standard library's own)
// cannot import BindingsPath, so BuildTest compiles a copy of the
// bindings (from unimon.GuestSources) under this path, which any
// package may import, in a GOROOT of its own: symbolic links to the real
// one's files plus src/unimon (the go command keys its cache for GOROOT
// packages without their directory, so nothing of std is rebuilt), which
// also holds the network stack and its dependencies (stdnet.go).
const stdBindingsPath = stdPrefix + "bindings"

// ErrNoTests is returned by BuildTest for a package without test files.
var ErrNoTests = errors.New("no test files")

// TestPackage is a package to test, as ListTests finds it.
type TestPackage struct {
	ImportPath, Name, Dir string
	TestGoFiles           []string
	XTestGoFiles          []string
	Deps                  []string
	Module                *struct{ Dir string } // nil in the standard library
	Error                 *struct{ Err string }
}

// HasTests reports whether the package has test files.
func (p *TestPackage) HasTests() bool { return len(p.TestGoFiles)+len(p.XTestGoFiles) > 0 }

// List resolves package patterns (default ".") as go test does, for the
// guest (linux/amd64, the unimon build tag).
func (b *TestBuilder) List(ctx context.Context, patterns []string) ([]*TestPackage, error) {
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	args := append([]string{"list", "-e", "-json=ImportPath,Name,Dir,TestGoFiles,XTestGoFiles,Deps,Module,Error"}, mergeFlags(b.opts.BuildFlags, BuildTag, "")...)
	cmd := exec.CommandContext(ctx, goCommand(b.opts), append(args, patterns...)...)
	cmd.Dir = b.opts.Dir
	cmd.Env = guestEnv(b.opts, b.tgt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w\n%s", strings.Join(patterns, " "), err, stderr.String())
	}
	var pkgs []*TestPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		p := new(TestPackage)
		if err := dec.Decode(p); err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// TestBuilder builds test binaries as unikernels (BuildTest); Close
// removes its work directory.
type TestBuilder struct {
	opts   Options // opts.goroot is the builder's GOROOT
	tgt    target  // the architecture of opts.Arch
	work   string  // that GOROOT, the overlays and the executables
	goroot string  // the real GOROOT
}

// NewTestBuilder prepares the GOROOT with the standard-library copy of
// the bindings. It lives in the user's cache directory, one per real
// GOROOT and bindings version, kept for later runs: not in the temporary
// directory, because the guest sees the packages' directories at their
// paths and its /tmp is its own.
func NewTestBuilder(ctx context.Context, opts Options) (*TestBuilder, error) {
	tgt, err := resolveArch(opts.Arch)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, goCommand(opts), "env", "GOROOT", "GOVERSION")
	cmd.Dir = opts.Dir
	cmd.Env = guestEnv(opts, tgt)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	real, _, _ := strings.Cut(string(out), "\n")
	work, err := os.MkdirTemp("", "unimon-test-")
	if err != nil {
		return nil, err
	}
	b := &TestBuilder{opts: opts, tgt: tgt, work: work, goroot: real}
	if b.opts.goroot, err = b.cachedGOROOT(ctx, string(out)); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// gorootLayout changes whenever makeGOROOT makes a different tree from
// the same sources, so that a GOROOT cached by an older unimon is not used.
const gorootLayout = 2

// cachedGOROOT returns the builder's GOROOT for the go command whose
// `go env GOROOT GOVERSION` is id, making it if it is not there yet.
func (b *TestBuilder) cachedGOROOT(ctx context.Context, id string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "layout %d\n%s", gorootLayout, id)
	err := fs.WalkDir(unimon.GuestSources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		text, err := fs.ReadFile(unimon.GuestSources, p)
		fmt.Fprintf(h, "%s %d\n", p, len(text))
		h.Write(text)
		return err
	})
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("a directory for the test GOROOT: %w", err)
	}
	dir := filepath.Join(cache, "unimon", fmt.Sprintf("goroot-%x", h.Sum(nil)[:8]))
	// Marking this one and trimming the others are housekeeping: a failure
	// leaves the cache as it was and does not stop this run.
	defer trimGOROOTs(filepath.Dir(dir), dir, time.Now())
	if _, err := os.Stat(filepath.Join(dir, "src", "unimon", "bindings")); err == nil {
		markGOROOTUsed(dir, time.Now())
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "new-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	deps, err := netDeps(ctx, goCommand(b.opts), b.work)
	if err != nil {
		return "", err
	}
	if err := makeGOROOT(b.goroot, tmp, deps); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "src", "unimon", "bindings")); serr == nil {
			return dir, nil // another run made it first
		}
		return "", err
	}
	return dir, nil
}

// makeGOROOT links the real GOROOT's files into dir and adds
// src/unimon/bindings (with its internal/socktab and netstack),
// src/unimon/guestabi and the packages deps (the network stack's, from
// netDeps).
func makeGOROOT(real, dir string, deps []depPackage) error {
	link := func(from, to string) error {
		ents, err := os.ReadDir(from)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if to == dir && e.Name() == "src" {
				continue
			}
			if err := os.Symlink(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "unimon"), 0o755); err != nil {
		return err
	}
	if err := link(real, dir); err != nil {
		return err
	}
	if err := link(filepath.Join(real, "src"), src); err != nil {
		return err
	}
	roots := depRoots(deps)
	for _, pkg := range []string{"bindings", "bindings/internal/socktab", "bindings/netstack", "guestabi"} {
		ents, err := fs.ReadDir(unimon.GuestSources, pkg)
		if err != nil {
			return err
		}
		pdir := filepath.Join(src, "unimon", pkg)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsDir() || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			text, err := fs.ReadFile(unimon.GuestSources, path.Join(pkg, e.Name()))
			if err != nil {
				return err
			}
			if strings.HasSuffix(e.Name(), ".go") {
				text = rewriteImports(e.Name(), text, roots)
			}
			if err := os.WriteFile(filepath.Join(pdir, e.Name()), text, 0o644); err != nil {
				return err
			}
		}
	}
	return copyNetDeps(src, deps)
}

// Close removes the builder's files.
func (b *TestBuilder) Close() error { return os.RemoveAll(b.work) }

// BuildTest builds p's test binary (go test -c) as a unikernel at out, the
// way Build builds a program, with p's directory packed as the file tree
// at the directory's own path, which is the working directory (so
// testdata/ reads work), the testdata directories of its parents up to
// the module's root ($GOROOT/src in the standard library: tests read
// ../testdata) and $GOROOT/lib/time (time zones).
// (GOROOT is the builder's, as the binary knows it.) A test file added
// through -overlay imports the bindings: the module's own when p depends
// on them already, else the standard-library copy. The go command's
// output goes to log. ErrNoTests when p has no test files.
func (b *TestBuilder) BuildTest(ctx context.Context, p *TestPackage, out string, log io.Writer) error {
	if !p.HasTests() {
		return ErrNoTests
	}
	bindings := stdBindingsPath
	if slices.Contains(p.Deps, BindingsPath) || p.ImportPath == BindingsPath {
		bindings = BindingsPath
	}
	replace := map[string]string{}
	name := strings.NewReplacer("/", "_", ".", "_").Replace(p.ImportPath)
	inject := filepath.Join(b.work, name+"_inject.go")
	src := fmt.Sprintf("package %s_test\n\nimport _ %q\n", p.Name, bindings)
	if err := os.WriteFile(inject, []byte(src), 0o644); err != nil {
		return err
	}
	replace[filepath.Join(p.Dir, "zz_unimon_bindings_test.go")] = inject
	ov, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	ovFile := filepath.Join(b.work, name+"_overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		return err
	}
	exe := filepath.Join(b.work, name+".test")
	defer os.Remove(exe)
	verb := []string{"test", "-c", "-vet=off", "-o", exe, "-overlay", ovFile}
	opts := b.opts
	opts.Stderr, opts.Stdout = log, nil
	if err := goGuest(ctx, opts, verb, bindings, p.ImportPath); err != nil {
		return err
	}
	goroot := b.opts.goroot
	mounts := []FileMount{{Dir: p.Dir, At: p.Dir}, {Dir: filepath.Join(goroot, "lib", "time"), At: filepath.Join(goroot, "lib", "time")}}
	root := filepath.Join(goroot, "src")
	if p.Module != nil {
		root = p.Module.Dir
	}
	for dir := p.Dir; dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)); {
		dir = filepath.Dir(dir)
		if st, err := os.Stat(filepath.Join(dir, "testdata")); err == nil && st.IsDir() {
			mounts = append(mounts, FileMount{Dir: filepath.Join(dir, "testdata"), At: filepath.Join(dir, "testdata")})
		}
	}
	files, err := PackFiles(mounts, p.Dir)
	if err != nil {
		return fmt.Errorf("%s: %w", p.ImportPath, err)
	}
	m, err := manifest(b.opts)
	if err != nil {
		return err
	}
	_, err = finish(exe, m, files, p.ImportPath, out)
	return err
}
