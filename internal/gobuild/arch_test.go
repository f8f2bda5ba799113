package gobuild

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/elfload"
)

func TestResolveArch(t *testing.T) {
	host := runtime.GOARCH
	if _, ok := targets[host]; !ok {
		host = "amd64"
	}
	for _, tt := range []struct {
		arch, env, want string
		err             error
	}{
		{"", "", host, nil},
		{"", "arm64", "arm64", nil},
		{"amd64", "arm64", "amd64", nil},
		{"arm64", "", "arm64", nil},
		{"riscv64", "", "", ErrArch},
		{"", "386", "", ErrArch},
	} {
		t.Setenv("GOARCH", tt.env)
		got, err := resolveArch(tt.arch)
		if !errors.Is(err, tt.err) || got.goarch != tt.want {
			t.Errorf("resolveArch(%q) with GOARCH=%q: %q, %v; want %q, %v", tt.arch, tt.env, got.goarch, err, tt.want, tt.err)
		}
	}
}

// TestBuildArm64: `unimon build --arch arm64` makes an aarch64 hvt
// unikernel from the same program as on amd64: the loader's rules hold,
// the notes are there, no instruction is rewritten (SVC traps by itself)
// and the bindings' buildInfo is filled in.
func TestBuildArm64(t *testing.T) {
	img, res := buildLoadable(t, Options{Package: "./examples/hello", Arch: "arm64", Block: []string{"disk"}})
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("machine %v", f.Machine)
	}
	if len(res.Syscalls) != 0 {
		t.Errorf("%d system call sites patched on arm64", len(res.Syscalls))
	}
	if _, m, err := elfload.Notes(bytes.NewReader(img), elfload.MachineAArch64); err != nil || m.Lookup("disk") != 1 {
		t.Errorf("elfload.Notes: %v", err)
	}
	if req, err := elfload.Features(bytes.NewReader(img), elfload.MachineAArch64); err != nil || req&guestabi.RequestIRQChip == 0 {
		t.Errorf("feature request %#x, %v", req, err)
	}
	checkWorkingSet(t, img, f, res)
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name != BuildInfoSymbol {
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && s.Value >= p.Vaddr && s.Value < p.Vaddr+p.Filesz {
				if got := binary.LittleEndian.Uint64(img[p.Off+s.Value-p.Vaddr:]); got != BuildInfoPatched {
					t.Errorf("buildInfo magic %#x, want %#x", got, uint64(BuildInfoPatched))
				}
				return
			}
		}
	}
	t.Errorf("%s not found in a loaded segment", BuildInfoSymbol)
}

// buildLoadable builds opts (relative to the module root) and returns the
// image, which must pass CheckLoadable, and the build's result.
func buildLoadable(t *testing.T, opts Options) ([]byte, *Result) {
	t.Helper()
	opts.Dir = moduleRoot(t)
	opts.Output = filepath.Join(t.TempDir(), "out.hvt")
	var log bytes.Buffer
	opts.Stderr = &log
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, log.String())
	}
	img, err := os.ReadFile(opts.Output)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLoadable(img); err != nil {
		t.Fatal(err)
	}
	return img, res
}
