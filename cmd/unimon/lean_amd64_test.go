package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
)

// leanTag is the build tag of make's bin/unimon (Makefile: LEAN_TAGS).
const leanTag = "unimon_nodebug"

// The lean build runs unikernels and nothing else: it links no debugger,
// no core writer, and none of the packages whose start-up alone cost
// every run peak RSS (issue 12, measured on the hello micro-guest):
// debug/elf, which brings debug/dwarf and two decompressors (0.14 MiB),
// net and net/netip (0.12 MiB), encoding/json (0.03-0.05 MiB).
func TestLeanRunPath(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", leanTag, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range []string{
		"github.com/unimon/unimon/monitor/gdbstub", "github.com/unimon/unimon/monitor/coredump",
		"github.com/unimon/unimon/internal/tcplisten",
		"net", "net/netip", "debug/elf", "debug/dwarf", "encoding/json",
	} {
		if slices.Contains(deps, pkg) {
			t.Errorf("the lean build of cmd/unimon links %s", pkg)
		}
	}
}

// The lean build hands a run with a debug option to unimon-debug, found
// next to it or on PATH, which serves the option as unimon built
// without the tag does; with no unimon-debug anywhere it says how to get
// one.
func TestLeanHandsDebugToUnimonDebug(t *testing.T) {
	kvmtest.Require(t)
	dir := t.TempDir()
	lean, full := filepath.Join(dir, "unimon"), filepath.Join(dir, debugTender.name)
	for _, b := range []struct{ bin, tags string }{{lean, leanTag}, {full, ""}} {
		if out, err := exec.Command("go", "build", "-tags", b.tags, "-o", b.bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build -tags %q: %v\n%s", b.tags, err, out)
		}
	}
	alone := filepath.Join(t.TempDir(), "unimon")
	if err := os.Link(lean, alone); err != nil {
		t.Fatal(err)
	}
	hello, abort := writeGuest(t, guests.Hello()), writeGuest(t, guests.Exit(255))
	cores := t.TempDir()
	tests := []struct {
		name string
		bin  string
		path string // PATH for the run
		args []string
		// status and what the output holds.
		status int
		want   string
	}{
		{"runs", lean, "", []string{"--mem=8", hello}, 0, "Hello, world"},
		{"dumpcore next to it", lean, "", []string{"--mem=8", "--dumpcore=" + cores, abort}, 255, "unimon: dumpcore: guest core written to " + cores},
		{"dumpcore on PATH", alone, dir, []string{"--mem=8", "--dumpcore=" + cores, abort}, 255, "unimon: dumpcore: guest core written to " + cores},
		{"its checks", lean, "", []string{"--gdb-port=1234", hello}, 1, "unimon: --gdb-port needs --gdb\n"},
		{"nowhere", alone, "", []string{"--gdb", hello}, 1, "unimon: --gdb needs unimon-debug, which is neither next to this executable nor on PATH\nRun make, which builds bin/unimon-debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := runWithPath(t, tt.bin, tt.path, tt.args...)
			if status != tt.status || !strings.Contains(string(out), tt.want) {
				t.Errorf("unimon %s: status %d, output:\n%s\nwant status %d and %q", strings.Join(tt.args, " "), status, out, tt.status, tt.want)
			}
		})
	}
}
