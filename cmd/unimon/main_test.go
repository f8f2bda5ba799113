package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
)

func TestParseRunArgs(t *testing.T) {
	tests := []struct {
		args   []string
		err    string
		kernel string
		check  func(*runOptions) bool
	}{
		{args: []string{"k.hvt"}, kernel: "k.hvt"},
		{args: []string{"--mem=64", "k", "a", "--mem=1"}, kernel: "k", check: func(o *runOptions) bool {
			return o.memMiB == 64 && len(o.args) == 2 && o.args[1] == "--mem=1"
		}},
		{args: []string{"--", "--weird-name"}, kernel: "--weird-name"},
		{args: []string{"--net:service0=tap0", "--net-mac:service0=02:00:00:00:00:01", "--block:disk=/tmp/d", "--block-sector-size:disk=4096", "k"}, kernel: "k",
			check: func(o *runOptions) bool {
				return o.net["service0"] == "tap0" && o.netMAC["service0"] != "" && o.block["disk"] == "/tmp/d" && o.sectorSize["disk"] == 4096
			}},
		{args: []string{"--net=tap0", "--block=disk.img", "k"}, kernel: "k", check: func(o *runOptions) bool {
			return o.netAny == "tap0" && o.blockAny == "disk.img"
		}},
		{args: []string{"--help"}, check: func(o *runOptions) bool { return o.help }},
		{args: []string{"--version"}, check: func(o *runOptions) bool { return o.version }},
		{args: nil, err: "missing KERNEL"},
		{args: []string{"--mem=0", "k"}, err: "malformed argument to --mem"},
		{args: []string{"--mem=lots", "k"}, err: "malformed argument to --mem"},
		{args: []string{"--frobnicate", "k"}, err: "unknown option --frobnicate"},
		{args: []string{"--net:=tap0", "k"}, err: "missing device NAME"},
		{args: []string{"--net:bad-name=tap0", "k"}, err: "must be 1 to 67 characters"},
		{args: []string{"--net:a", "k"}, err: "missing value"},
		{args: []string{"--net:a=x", "--net:a=y", "k"}, err: "given twice"},
		{args: []string{"--block-sector-size:a=1000", "k"}, err: "power of two"},
		{args: []string{"--block-sector-size:a=256", "k"}, err: "power of two"},
		{args: []string{"--mem"}, err: "missing value"},
	}
	for _, tt := range tests {
		o, err := parseRunArgs(tt.args)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if o.kernel != tt.kernel || (tt.check != nil && !tt.check(o)) {
			t.Errorf("%q: parsed %+v", tt.args, o)
		}
	}
}

func TestResolveAgainstManifest(t *testing.T) {
	m := guestabi.NewManifest(
		guestabi.Entry{Name: "service0", Type: guestabi.DeviceNetBasic},
		guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic},
	)
	two := guestabi.NewManifest(
		guestabi.Entry{Name: "a", Type: guestabi.DeviceNetBasic},
		guestabi.Entry{Name: "b", Type: guestabi.DeviceNetBasic},
	)
	tests := []struct {
		args []string
		m    *guestabi.Manifest
		err  string
	}{
		{[]string{"--net=tap0", "--block=d.img", "k"}, m, ""},
		{[]string{"--net:service0=tap0", "--block:storage=d.img", "k"}, m, ""},
		{[]string{"--net=tap0", "k"}, m, `block device "storage" (BLOCK_BASIC) but it is not attached: add --block:storage=PATH`},
		{[]string{"--block=d", "k"}, m, `net device "service0" (NET_BASIC) but it is not attached: add --net:service0=TAP`},
		{[]string{"--net:eth9=tap0", "--net=tap1", "--block=d", "k"}, m, "--net:eth9: resource not declared in manifest"},
		{[]string{"--block:service0=d", "--net=tap0", "k"}, m, "is NET_BASIC, not BLOCK_BASIC"},
		{[]string{"--net=tap0", "k"}, two, "declares 2 NET_BASIC devices (a, b): name one with --net:NAME=tap0"},
		{[]string{"--block=d", "k"}, two, "declares no BLOCK_BASIC device"},
		{[]string{"--net:service0=tap0", "--net=tap1", "--block=d", "k"}, m, "already attached"},
	}
	for _, tt := range tests {
		o, err := parseRunArgs(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		err = o.resolve(tt.m)
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%q: err = %v, want %q", tt.args, err, tt.err)
		}
	}
}

// runCLI runs the command in-process.
func runCLI(args ...string) (status int, stdout, stderr string) {
	var out, errb bytes.Buffer
	status = run(args, &out, &errb)
	return status, out.String(), errb.String()
}

func writeGuest(t *testing.T, image []byte) string {
	path := filepath.Join(t.TempDir(), "guest.hvt")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLIRunsGuests(t *testing.T) {
	kvmtest.Require(t)
	hello := writeGuest(t, microguest.Hello())
	status, out, errOut := runCLI("--mem=8", hello, "arg1", "arg2")
	if status != 0 || out != microguest.HelloText+"arg1 arg2\n" || errOut != "" {
		t.Errorf("hello: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	if status, _, _ := runCLI("--mem=8", writeGuest(t, microguest.Exit(300))); status != 300&0xff {
		t.Errorf("HALT(300): status %d, want %d", status, 300&0xff)
	}
	status, _, errOut = runCLI("--mem=9", hello)
	if status != 0 || !strings.Contains(errOut, "adjusting memory to 8388608 bytes") {
		t.Errorf("--mem=9: status %d, stderr %q", status, errOut)
	}
	status, _, errOut = runCLI("--mem=8", writeGuest(t, microguest.TripleFault()))
	if status != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "unimon: guest fault: triple fault") {
		t.Errorf("triple fault: status %d, stderr %q", status, errOut)
	}
}

func TestCLIErrorsAreOneLineWithHint(t *testing.T) {
	block := writeGuest(t, microguest.BlockRoundTrip())
	hello := writeGuest(t, microguest.Hello())
	tests := []struct {
		args []string
		want string
		hint bool
	}{
		{[]string{"--bogus", "k"}, "unimon: unknown option --bogus", true},
		{[]string{block}, `add --block:storage=PATH`, true},
		{[]string{"/nonexistent.hvt"}, "cannot open unikernel", false},
		{[]string{"--block=/nonexistent/disk", block}, "--block:storage: ", false},
		{[]string{"--mem=8192", hello}, "--mem=8192: invalid guest memory size", true},
		{[]string{"info"}, "usage: unimon info KERNEL", true},
		{[]string{"info", "/etc/passwd"}, "invalid unikernel", false},
	}
	for _, tt := range tests {
		status, _, errOut := runCLI(tt.args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		wantLines := 1
		if tt.hint {
			wantLines = 2
		}
		if status != 1 || !strings.Contains(lines[0], tt.want) || len(lines) != wantLines {
			t.Errorf("%q: status %d, stderr %q, want %q (hint %v)", tt.args, status, errOut, tt.want, tt.hint)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	if status, _, errOut := runCLI("--help"); status != 1 || !strings.Contains(errOut, "--block:NAME=PATH") {
		t.Errorf("--help: status %d, %q", status, errOut)
	}
	if status, _, errOut := runCLI("--version"); status != 0 || !strings.Contains(errOut, "ABI version 2") {
		t.Errorf("--version: status %d, %q", status, errOut)
	}
}

func TestInfoPrintsJSON(t *testing.T) {
	status, out, errOut := runCLI("info", writeGuest(t, microguest.NetEcho()))
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	var got infoOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.ABI.Target != "hvt" || got.ABI.Version != 2 || len(got.Manifest.Devices) != 1 ||
		got.Manifest.Devices[0] != (guestabi.ManifestJSONItem{Name: "service0", Type: "NET_BASIC"}) {
		t.Errorf("info: %+v", got)
	}
}

// A real process: SIGTERM stops a spinning guest with exit status 1.
func TestSignalExitsOne(t *testing.T) {
	kvmtest.Require(t)
	bin := filepath.Join(t.TempDir(), "unimon")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--mem=8", writeGuest(t, microguest.Spin()))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(errb.String(), "exiting on signal") {
		t.Errorf("exit %v, stderr %q", err, errb.String())
	}
}
