// Package gobuild implements `unimon build`: it compiles an ordinary Go
// main package that imports github.com/unimon/unimon/bindings with the
// standard toolchain (GOOS=linux GOARCH=amd64 CGO_ENABLED=0), then turns
// the executable into a Solo5 hvt unikernel (see Patch).
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
	"strings"

	"github.com/unimon/unimon/guestabi"
)

// BindingsPath is the import path of the guest bindings; its rt0 is the
// entry point of every Go unikernel.
const BindingsPath = "github.com/unimon/unimon/bindings"

// BuildTag is set for the guest build, so programs can hold
// unikernel-only files.
const BuildTag = "unimon"

// Options configure Build.
type Options struct {
	// Package is the main package to build (default ".").
	Package string
	// Output is the unikernel file to write (default: the package
	// directory's base name with ".hvt" appended, in Dir).
	Output string
	// Manifest is a Solo5 manifest JSON file; Net and Block add devices.
	Manifest string
	Net      []string
	Block    []string
	// Dir is the directory go build runs in (default: the current one).
	Dir string
	// GoCmd is the go command (default "go" from PATH, then $GOROOT/bin/go).
	GoCmd string
	// BuildFlags are passed to go build before the package (e.g. -race is
	// not supported, but -gcflags or -tags extra values are).
	BuildFlags []string
	// Stdout and Stderr receive go build's output (default os.Stderr).
	Stdout, Stderr io.Writer
}

// Build compiles opts.Package and writes the unikernel to opts.Output.
func Build(ctx context.Context, opts Options) (*Result, error) {
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
	tmp, err := os.MkdirTemp("", "unimon-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	exe := filepath.Join(tmp, "go.out")

	if err := compile(ctx, opts, pkg, exe); err != nil {
		return nil, err
	}
	in, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	img, res, err := Patch(in, m)
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

// compile runs go build for the guest (linux/amd64, no cgo, the bindings'
// entry point, linked at TextBase) and writes the executable to exe.
func compile(ctx context.Context, opts Options, pkg, exe string) error {
	goCmd := opts.GoCmd
	if goCmd == "" {
		goCmd = "go"
		if _, err := exec.LookPath(goCmd); err != nil {
			goCmd = filepath.Join(runtimeGOROOT(), "bin", "go")
		}
	}
	args := []string{"build", "-o", exe, "-tags", BuildTag,
		"-ldflags=-E=" + BindingsPath + ".rt0 -T=" + fmt.Sprintf("%#x", TextBase)}
	args = append(args, opts.BuildFlags...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOAMD64=v1")
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
		return fmt.Errorf("go build %s failed: %w", pkg, err)
	}
	return nil
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
		m, err = guestabi.ParseManifestJSON(b)
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
