package gobuild

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
)

// moduleRoot is the unimon module's directory (tests run in their package
// directory).
func moduleRoot(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuildHello(t *testing.T) {
	img, res := buildLoadable(t, Options{Package: "./examples/hello", Net: []string{"service0"}})
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	// The table the guest reads holds exactly the patched sites, and each
	// is a UD2 now.
	text := f.Section(".text")
	var tab []byte
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && res.TableAddr >= p.Vaddr && res.TableAddr < p.Vaddr+p.Filesz {
			off := p.Off + (res.TableAddr - p.Vaddr)
			tab = img[off : off+8*uint64(len(res.Syscalls))]
		}
	}
	if tab == nil {
		t.Fatalf("syscall table at %#x is in no segment", res.TableAddr)
	}
	for i, a := range res.Syscalls {
		if got := binary.LittleEndian.Uint64(tab[8*i:]); got != a {
			t.Fatalf("table[%d] = %#x, want %#x", i, got, a)
		}
		inst, err := x86asm.Decode(img[text.Offset+a-text.Addr:], 64)
		if err != nil || inst.Op != x86asm.UD2 {
			t.Errorf("%#x: %v %v", a, inst, err)
		}
	}
	// The manifest carries the declared device.
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		if b, ok, _ := guestabi.ReadNote(bytes.NewReader(img), p.Off, p.Filesz, guestabi.NoteMFT1); ok {
			m, err := guestabi.DecodeManifest(b)
			if err != nil || m.Lookup("service0") != 1 {
				t.Errorf("manifest %+v: %v", m, err)
			}
		}
	}
	if f.Entry < guestabi.GuestMinBase {
		t.Errorf("entry %#x", f.Entry)
	}
	// unimon's own loader accepts it, notes and segments.
	if _, m, err := elfload.Notes(bytes.NewReader(img), elfload.MachineX86_64); err != nil || m.Lookup("service0") != 1 {
		t.Errorf("elfload.Notes: %v", err)
	}
	mem, err := guestmem.New(128 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	li, err := elfload.Load(bytes.NewReader(img), elfload.MachineX86_64, mem)
	if err != nil {
		t.Fatalf("elfload.Load: %v", err)
	}
	if li.Entry != f.Entry {
		t.Errorf("loaded entry %#x, ELF entry %#x", li.Entry, f.Entry)
	}
	// And the feature note asks for the irqchip.
	if req, err := elfload.Features(bytes.NewReader(img), elfload.MachineX86_64); err != nil || req&guestabi.RequestIRQChip == 0 {
		t.Errorf("feature request %#x, %v", req, err)
	}
	checkWorkingSet(t, img, f, res)
	t.Logf("%d syscall sites, image end %#x, %d bytes", len(res.Syscalls), res.ImageEnd, len(img))
}

// A program that does not import the bindings gets an error that says so.
func TestBuildWithoutBindings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module nob\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() {}\n"), 0o644)
	var log bytes.Buffer
	_, err := Build(context.Background(), Options{Dir: dir, Output: filepath.Join(dir, "x.hvt"), Stderr: &log})
	if err == nil || !strings.Contains(err.Error(), "bindings") {
		t.Fatalf("err = %v", err)
	}
}

// Compile errors come through readably.
func TestBuildCompileError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module bad\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() { undefinedThing() }\n"), 0o644)
	var log bytes.Buffer
	_, err := Build(context.Background(), Options{Dir: dir, Output: filepath.Join(dir, "x.hvt"), Stderr: &log})
	if err == nil || !strings.Contains(log.String(), "undefinedThing") {
		t.Fatalf("err = %v, output %q", err, log.String())
	}
	if testing.Verbose() {
		t.Logf("%v\n%s", err, log.String())
	}
}

func TestManifestOptions(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "m.json")
	os.WriteFile(js, []byte(`{"type":"solo5.manifest","version":1,"devices":[{"name":"disk","type":"BLOCK_BASIC"}]}`), 0o644)
	m, err := manifest(Options{Manifest: js, Net: []string{"service0"}, Block: []string{"disk2"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Lookup("disk") != 1 || m.Lookup("service0") != 2 || m.Lookup("disk2") != 3 || m.Entries[2].Type != guestabi.DeviceNetBasic {
		t.Errorf("manifest %+v", m.Entries)
	}
	for _, o := range []Options{{Net: []string{"a-b"}}, {Net: []string{"x"}, Block: []string{"x"}}, {Manifest: filepath.Join(dir, "missing.json")}} {
		if _, err := manifest(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// ownModule writes a program in a module of its own (unimon through a
// replace directive) into a temporary directory and returns it. It prints
// main.version (set with -X) and what its file with build tag mytag sets.
func ownModule(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"go.mod": "module example.com/own\ngo 1.26\nrequire github.com/unimon/unimon v0.0.0\nreplace github.com/unimon/unimon => " + root + "\n",
		"go.sum": string(sum),
		"main.go": `package main

import (
	"fmt"

	_ "github.com/unimon/unimon/bindings"
)

var version = "unset"

var extra string

func main() { fmt.Println(version, extra) }
`,
		"tagged.go": "//go:build mytag\n\npackage main\n\nfunc init() { extra = \"tagged-file-linked\" }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The module's go.mod lists only unimon: let go complete it, as `go
	// mod tidy` would have (from the module cache, no network).
	t.Setenv("GOFLAGS", "-mod=mod")
	return dir
}

// wantFlagsApplied fails t unless the unikernel file holds what
// ownModule's -X and -tags mytag put there.
func wantFlagsApplied(t *testing.T, file string) {
	t.Helper()
	img, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"v1.2-from-ldflags", "tagged-file-linked"} {
		if !bytes.Contains(img, []byte(want)) {
			t.Errorf("the unikernel does not hold %q: the user's build flags were lost", want)
		}
	}
	if err := CheckLoadable(img); err != nil {
		t.Errorf("CheckLoadable: %v", err)
	}
}

// A program in a module of its own builds by its directory path from
// anywhere (as `cd DIR && go build` would), and the user's -tags and
// -ldflags add to the guest's instead of replacing them.
func TestBuildOwnModuleByPath(t *testing.T) {
	dir := ownModule(t)
	out := filepath.Join(t.TempDir(), "own.hvt")
	var log bytes.Buffer
	_, err := Build(context.Background(), Options{
		Dir: t.TempDir(), Package: dir, Output: out, Stderr: &log,
		BuildFlags: []string{"-tags", "mytag", "-ldflags", "-X main.version=v1.2-from-ldflags"},
	})
	if err != nil {
		t.Fatalf("Build(%s): %v\n%s", dir, err, log.String())
	}
	wantFlagsApplied(t, out)
}

// The command line takes go build's flags.
func TestMainGoBuildFlags(t *testing.T) {
	dir := ownModule(t)
	out := filepath.Join(t.TempDir(), "own.hvt")
	var stdout, stderr bytes.Buffer
	args := []string{"-o", out, "-tags", "mytag", "-ldflags", "-X main.version=v1.2-from-ldflags", "-trimpath", dir}
	if status := Main(args, &stdout, &stderr); status != 0 {
		t.Fatalf("unimon build %q: status %d\n%s", args, status, stderr.String())
	}
	wantFlagsApplied(t, out)
}

// -ldflags -s would strip the symbols the patcher walks: refused with a
// reason before anything is built.
func TestBuildStrippedRefused(t *testing.T) {
	_, err := Build(context.Background(), Options{Dir: moduleRoot(t), Package: "./examples/hello", Arch: "amd64",
		Output: filepath.Join(t.TempDir(), "x.hvt"), BuildFlags: []string{"-ldflags", "-s -w"}})
	if !errors.Is(err, ErrStripped) {
		t.Fatalf("err = %v, want ErrStripped", err)
	}
}

func TestMergeFlags(t *testing.T) {
	for _, tc := range []struct {
		user []string
		want string
	}{
		{nil, "-tags unimon -ldflags=-E=x"},
		{[]string{"-tags", "a,b"}, "-tags unimon,a,b -ldflags=-E=x"},
		{[]string{"-tags=a b"}, "-tags unimon,a,b -ldflags=-E=x"},
		{[]string{"--tags", ""}, "-tags unimon -ldflags=-E=x"},
		{[]string{"-ldflags", "-s -w"}, "-tags unimon -ldflags=-E=x -s -w"},
		{[]string{"-ldflags=-X main.v=1", "-trimpath"}, "-tags unimon -ldflags=-E=x -X main.v=1 -trimpath"},
		{[]string{"-gcflags", "-N", "-tags"}, "-tags unimon -ldflags=-E=x -gcflags -N"},
	} {
		if got := strings.Join(mergeFlags(tc.user, "unimon", "-E=x"), " "); got != tc.want {
			t.Errorf("mergeFlags(%q) = %q, want %q", tc.user, got, tc.want)
		}
	}
}

// checkWorkingSet checks the boot working set note of img (parsed as f):
// the window above the image, the runtime's heap descriptor and the small
// variables listed; the bindings' thread table, a large one, not.
func checkWorkingSet(t *testing.T, img []byte, f *elf.File, res *Result) {
	t.Helper()
	pf, err := elfload.Parse(bytes.NewReader(img), elfload.Machine(f.Machine))
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := pf.WorkingSet()
	if err != nil || len(ranges) == 0 {
		t.Fatalf("boot working set %v, %v", ranges, err)
	}
	if last := ranges[len(ranges)-1]; last != (guestabi.Range{Start: res.ImageEnd, Len: heapWindow}) {
		t.Errorf("last range %+v, want the %d bytes from the image's end %#x", last, heapWindow, res.ImageEnd)
	}
	listed := func(addr uint64) bool {
		return slices.ContainsFunc(ranges, func(r guestabi.Range) bool { return addr >= r.Start && addr < r.End() })
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{runtimeHeapSymbol: true, "runtime.sched": true, BuildInfoSymbol: false,
		"github.com/unimon/unimon/bindings.threads": false}
	for _, s := range syms {
		if w, ok := want[s.Name]; ok {
			if got := listed(s.Value) && listed(s.Value+s.Size-1); got != w {
				t.Errorf("%s (%d bytes at %#x) listed: %v, want %v (ranges %+v)", s.Name, s.Size, s.Value, got, w, ranges)
			}
			delete(want, s.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("symbols not found: %v", want)
	}
}
