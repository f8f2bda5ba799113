// Package gobuild implements `unimon build`: it compiles an ordinary Go
// main package that imports github.com/unimon/unimon/bindings with the
// standard toolchain (GOOS=linux CGO_ENABLED=0, GOARCH amd64 or arm64:
// see Options.Arch), then turns the executable into a Solo5 hvt
// unikernel (see Patch).
package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/guestabi/manifestjson"
)

// BindingsPath is the import path of the guest bindings; its rt0 is the
// entry point of every Go unikernel.
const BindingsPath = "github.com/unimon/unimon/bindings"

// BuildTag is set for the guest build, so programs can hold
// unikernel-only files.
const BuildTag = "unimon"

// Options configure Build.
type Options struct {
	// Package is the main package to build (default "."): an import path,
	// or a directory path, which builds from that directory in whatever
	// module holds it.
	Package string
	// Output is the unikernel file to write (default: the package
	// directory's base name with ".hvt" appended, in Dir).
	Output string
	// Manifest is a Solo5 manifest JSON file; Net and Block add devices.
	Manifest string
	Net      []string
	Block    []string
	// Arch is the GOARCH of the unikernel: "amd64" or "arm64" (see
	// Archs); empty means $GOARCH, else this machine's architecture if
	// unimon builds for it, else amd64.
	Arch string
	// Dir is the directory go build runs in (default: the current one).
	Dir string
	// GoCmd is the go command (default "go" from PATH, then $GOROOT/bin/go).
	GoCmd string
	// BuildFlags are passed to go build before the package (e.g. -race is
	// not supported, but -gcflags is); -tags and -ldflags values are added
	// to the guest's own.
	BuildFlags []string
	// Files is a directory packed into the image as the program's read-only
	// file tree at "/" (PackFiles; bindings/treefs.go).
	Files string

	goroot string // GOROOT for the go command, if not its own (test.go)
	// Stdout and Stderr receive go build's output (default os.Stderr).
	Stdout, Stderr io.Writer
}

// Build compiles opts.Package and writes the unikernel to opts.Output.
func Build(ctx context.Context, opts Options) (*Result, error) {
	if _, err := resolveArch(opts.Arch); err != nil {
		return nil, err
	}
	m, err := manifest(opts)
	if err != nil {
		return nil, err
	}
	pkg := opts.Package
	if pkg == "" {
		pkg = "."
	}
	out := opts.Output
	if out == "" {
		base := filepath.Base(pkg)
		if pkg == "." || pkg == "" {
			wd := opts.Dir
			if wd == "" {
				wd, _ = os.Getwd()
			}
			base = filepath.Base(wd)
		}
		out = base + ".hvt"
	}
	if !filepath.IsAbs(out) && opts.Dir != "" {
		out = filepath.Join(opts.Dir, out)
	}
	var files []byte
	if dir := opts.Files; dir != "" {
		if !filepath.IsAbs(dir) && opts.Dir != "" {
			dir = filepath.Join(opts.Dir, dir)
		}
		if files, err = PackFiles([]FileMount{{Dir: dir, At: "/"}}, "/"); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "unimon-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	exe := filepath.Join(tmp, "go.out")

	if err := compile(ctx, inPackageDir(opts, pkg), exe); err != nil {
		return nil, err
	}
	return finish(exe, m, files, pkg, out)
}

// inPackageDir returns opts for building pkg from its own directory when
// pkg is a directory path (/abs/prog, ../prog), with Package ".": the go
// command then finds the program's own module, wherever it is, as `cd
// DIR && go build` would (go build /abs/prog from another module, or from
// outside any, fails). Import paths are left as they are.
func inPackageDir(opts Options, pkg string) Options {
	opts.Package = pkg
	if !filepath.IsAbs(pkg) && pkg != "." && pkg != ".." &&
		!strings.HasPrefix(pkg, "./") && !strings.HasPrefix(pkg, "../") {
		return opts // an import path
	}
	dir := pkg
	if !filepath.IsAbs(dir) && opts.Dir != "" {
		dir = filepath.Join(opts.Dir, dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return opts // a pattern or a file: go build says what is wrong
	}
	opts.Dir, opts.Package = dir, "."
	return opts
}

// finish patches the executable exe into the unikernel out, with the
// file tree files (or none).
func finish(exe string, m *guestabi.Manifest, files []byte, pkg, out string) (*Result, error) {
	in, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	if err := markRawNet(in); err != nil {
		return nil, fmt.Errorf("%s: %w", pkg, err)
	}
	img, res, err := PatchFiles(in, m, files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkg, err)
	}
	if err := CheckLoadable(img); err != nil {
		return nil, fmt.Errorf("%s: patched image fails the Solo5 loader rules: %w", pkg, err)
	}
	if err := os.WriteFile(out, img, 0o755); err != nil {
		return nil, err
	}
	return res, nil
}

// compile runs go build for the guest's opts.Package and writes the
// executable to exe.
func compile(ctx context.Context, opts Options, exe string) error {
	return goGuest(ctx, opts, []string{"build", "-o", exe}, BindingsPath, opts.Package)
}

// goCommand is the go command of opts.
func goCommand(opts Options) string {
	if opts.GoCmd != "" {
		return opts.GoCmd
	}
	if _, err := exec.LookPath("go"); err == nil {
		return "go"
	}
	return filepath.Join(runtimeGOROOT(), "bin", "go")
}

// guestEnv is the environment of the go command for a guest build for
// tgt.
func guestEnv(opts Options, tgt target) []string {
	env := append(append(os.Environ(), "GOOS=linux", "GOARCH="+tgt.goarch, "CGO_ENABLED=0"), tgt.env...)
	if opts.goroot != "" {
		env = append(env, "GOROOT="+opts.goroot)
	}
	return env
}

// goGuest runs the go command verb (build -o FILE, test -c -o FILE...) for
// the guest: linux, the architecture of opts.Arch, no cgo, the entry
// point of the bindings at import path bindings, linked at TextBase. A
// package that depends on net (its tests too, for go test) also gets the
// network stack (NetTag), with the module's bindings and with their
// standard-library copy alike (stdnet.go).
func goGuest(ctx context.Context, opts Options, verb []string, bindings, pkg string) error {
	tgt, err := resolveArch(opts.Arch)
	if err != nil {
		return err
	}
	goCmd := goCommand(opts)
	tags := BuildTag
	flags := opts.BuildFlags
	if verb[0] == "test" {
		flags = append([]string{"-test"}, flags...)
	}
	if usesNet, err := importsNet(ctx, goCmd, opts.Dir, pkg, guestEnv(opts, tgt), flags); err != nil {
		return err
	} else if usesNet {
		tags += "," + NetTag
	}
	ldflags := "-E=" + bindings + ".rt0 -T=" + fmt.Sprintf("%#x", TextBase) + tgt.ldflags
	merged := mergeFlags(opts.BuildFlags, tags, ldflags)
	if tgt.patchSyscalls != nil && strips(merged) {
		return fmt.Errorf("-ldflags -s: %w", ErrStripped)
	}
	args := append(verb, merged...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = opts.Dir
	cmd.Env = guestEnv(opts, tgt)
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	var errBuf bytes.Buffer
	cmd.Stderr = io.MultiWriter(stderr, &errBuf)
	// One writer for both streams unless asked otherwise: exec then copies
	// them from one goroutine, so a plain buffer does not race.
	cmd.Stdout = cmd.Stderr
	if opts.Stdout != nil {
		cmd.Stdout = opts.Stdout
	}
	if err := cmd.Run(); err != nil {
		if strings.Contains(errBuf.String(), "missing entry symbol") {
			return fmt.Errorf("go build %s: %w (add: import _ %q)", pkg, ErrNoBindings, BindingsPath)
		}
		return fmt.Errorf("go %s %s failed: %w", verb[0], pkg, err)
	}
	return nil
}

// ErrStripped is the error for a build whose linker flags strip the
// symbol table, which the patcher walks function by function.
var ErrStripped = errors.New("the symbol table is needed to find the system calls: leave out -s (-w, no DWARF, is fine)")

// strips reports whether merged go command flags (mergeFlags) ask the
// linker to strip the symbol table.
func strips(merged []string) bool {
	for _, f := range merged {
		if ld, ok := strings.CutPrefix(f, "-ldflags="); ok {
			return slices.Contains(strings.Fields(ld), "-s")
		}
	}
	return false
}

// mergeFlags returns the go command flags for a guest build: the user's
// flags with the guest's build tags and linker flags added to any -tags
// and -ldflags of theirs. The go command keeps only the last of a
// repeated flag, so appending ours or theirs would drop the other: the
// user's tags would lose the bindings' tag, or their -ldflags (-X, -s)
// the entry point.
func mergeFlags(user []string, tags, ldflags string) []string {
	var out []string
	for i := 0; i < len(user); i++ {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(user[i], "-"), "=")
		name = strings.TrimPrefix(name, "-")
		if name != "tags" && name != "ldflags" {
			out = append(out, user[i])
			continue
		}
		if !hasValue && i+1 < len(user) {
			i++
			value = user[i]
		}
		if name == "tags" {
			// Comma-separated, or space-separated as Go once had them.
			for _, tag := range strings.Fields(strings.ReplaceAll(value, ",", " ")) {
				tags += "," + tag
			}
		} else if value != "" {
			ldflags = strings.TrimSpace(ldflags + " " + value)
		}
	}
	merged := []string{"-tags", tags}
	if ldflags != "" {
		merged = append(merged, "-ldflags="+ldflags)
	}
	return append(merged, out...)
}

func runtimeGOROOT() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	return "/usr/local/go"
}

// manifest builds the manifest from the JSON file and the device flags.
func manifest(opts Options) (*guestabi.Manifest, error) {
	m := guestabi.NewManifest()
	if opts.Manifest != "" {
		b, err := os.ReadFile(opts.Manifest)
		if err != nil {
			return nil, err
		}
		m, err = manifestjson.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opts.Manifest, err)
		}
	}
	add := func(name string, t guestabi.DeviceType) error {
		if !guestabi.ValidDeviceName(name) {
			return fmt.Errorf("device name %q: want 1-%d letters and digits", name, guestabi.DeviceNameMax)
		}
		if m.Lookup(name) >= 0 {
			return fmt.Errorf("device %q declared twice", name)
		}
		m.Entries = append(m.Entries, guestabi.Entry{Name: name, Type: t})
		return nil
	}
	for _, n := range opts.Net {
		if err := add(n, guestabi.DeviceNetBasic); err != nil {
			return nil, err
		}
	}
	for _, n := range opts.Block {
		if err := add(n, guestabi.DeviceBlockBasic); err != nil {
			return nil, err
		}
	}
	if len(m.Entries) > guestabi.ManifestMaxEntries {
		return nil, fmt.Errorf("too many devices: %d, maximum %d", len(m.Entries)-1, guestabi.ManifestMaxDevices)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// ErrNotLoadable is returned (wrapped) by CheckLoadable.
var ErrNotLoadable = errors.New("not a loadable Solo5 hvt image")
