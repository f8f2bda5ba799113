package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The monitor does not link the builder, nor what `unimon pack` needs
// (the OCI image code, the digests and the crypto behind them), nor
// gopacket's layers (see devices/pcap.go), nor encoding/json (manifest
// files are guestabi/manifestjson's; `unimon info` prints JSON from the
// builder): those packages cost every run its start-up time and memory
// (issue 12).
func TestRunPathDoesNotLinkBuilder(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range []string{
		"github.com/unimon/unimon/internal/gobuild", "golang.org/x/arch/x86/x86asm", "os/exec", "flag",
		"github.com/unimon/unimon/internal/ocipack", "github.com/unimon/unimon/ociimage",
		"github.com/opencontainers/go-digest", "github.com/opencontainers/image-spec/specs-go/v1",
		"archive/tar", "crypto/sha256",
		"github.com/gopacket/gopacket/layers",
		"encoding/json",
	} {
		for _, d := range deps {
			if d == pkg {
				t.Errorf("cmd/unimon links %s", pkg)
			}
		}
	}
}

// Nor what the linker keeps only if something calls it, which go list
// cannot tell: Go's DNS resolver (package net links it only where a name
// may be looked up: net.Listen with a host name; see gdbAddress), net's
// socket code (110 KB of binary; package tcplisten listens for --gdb).
// The binary is what tells.
func TestRunPathSymbols(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "unimon")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	for _, sym := range []string{
		"net.(*Resolver).lookupIPAddr", "net.(*Resolver).goLookupIPCNAMEOrder",
		"net.ListenTCP", "net.(*netFD).accept", "syscall.NetlinkRIB",
		"golang.org/x/sys/unix.anyToSockaddr",
	} {
		if strings.Contains(string(out), " "+sym+"\n") {
			t.Errorf("unimon links %s", sym)
		}
	}
}

// `unimon build`, `unimon test` and `unimon pack` run the builder next
// to the executable, else on PATH, and say how to install it when there
// is none; the builder's output and exit status are the command's.
func TestBuildRunsBuilder(t *testing.T) {
	dir := t.TempDir()
	unimon, builderBin := filepath.Join(dir, "unimon"), filepath.Join(dir, builder.name)
	for bin, pkg := range map[string]string{unimon: ".", builderBin: "../unimon-build"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	alone := filepath.Join(t.TempDir(), "unimon")
	if err := os.Link(unimon, alone); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		// command is what follows unimon; a lone command gets -h.
		name, command, bin, path string
		status                   int
		want                     string
	}{
		{"next to unimon", "build", unimon, "", 0, "usage: unimon build"},
		{"on PATH", "build", alone, dir, 0, "usage: unimon build"},
		{"nowhere", "build", alone, "", 1, "unimon: unimon build needs unimon-build, which is neither next to this executable nor on PATH\nInstall it with go install github.com/unimon/unimon/cmd/unimon-build@latest"},
		{"test next to unimon", "test", unimon, "", 0, "usage: unimon test"},
		{"test on PATH", "test", alone, dir, 0, "usage: unimon test"},
		{"test nowhere", "test", alone, "", 1, "unimon: unimon test needs unimon-build, which is neither next to this executable nor on PATH\nInstall it with go install github.com/unimon/unimon/cmd/unimon-build@latest"},
		{"pack next to unimon", "pack", unimon, "", 0, "usage: unimon pack"},
		{"pack on PATH", "pack", alone, dir, 0, "usage: unimon pack"},
		{"pack nowhere", "pack", alone, "", 1, "unimon: unimon pack needs unimon-build, which is neither next to this executable nor on PATH\nInstall it with go install github.com/unimon/unimon/cmd/unimon-build@latest"},
		{"pack's error", "pack -o", unimon, "", 1, "unimon: pack: flag needs an argument: -o\nTry 'unimon pack -h' for the options.\n"},
		{"info next to unimon", "info", unimon, "", 0, "usage: unimon info KERNEL"},
		{"info's error", "info a b", unimon, "", 1, "unimon: usage: unimon info KERNEL\nTry 'unimon --help' for the options.\n"},
		{"info nowhere", "info", alone, "", 1, "unimon: unimon info needs unimon-build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := strings.Fields(tt.command)
			if len(args) == 1 {
				args = append(args, "-h")
			}
			status, out := runWithPath(t, tt.bin, tt.path, args...)
			if status != tt.status || !strings.Contains(string(out), tt.want) {
				t.Errorf("unimon %s: status %d, output:\n%s\nwant status %d and %q", strings.Join(args, " "), status, out, tt.status, tt.want)
			}
		})
	}
}

// runWithPath runs bin with args and PATH set to path, and returns its
// exit status and output (stdout and stderr).
func runWithPath(t *testing.T, bin, path string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PATH="+path)
	out, err := cmd.CombinedOutput()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return status, string(out)
}
