package main

// The CLI tests, written once for both architectures: the guests come
// from microguest.Host, and what differs (how a guest faults) is in
// main_amd64_test.go and main_arm64_test.go. On x86_64 machines the arm64
// build of this package runs in the ARM64 lane (internal/arm64lane).

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
)

// guests are the micro-guests this machine's KVM runs.
var guests = microguest.Host

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
		{args: []string{"--mem-hugepages", "--mem=64", "k"}, kernel: "k", check: func(o *runOptions) bool { return o.memHuge && o.memMiB == 64 }},
		{args: []string{"k", "--mem-hugepages"}, kernel: "k", check: func(o *runOptions) bool { return !o.memHuge && o.args[0] == "--mem-hugepages" }},
		{args: []string{"--", "--weird-name"}, kernel: "--weird-name"},
		{args: []string{"--net:service0=tap0", "--net-mac:service0=02:00:00:00:00:01", "--block:disk=/tmp/d", "--block-sector-size:disk=4096", "k"}, kernel: "k",
			check: func(o *runOptions) bool {
				return o.net["service0"] == "tap0" && o.netMAC["service0"] != "" && o.block["disk"] == "/tmp/d" && o.sectorSize["disk"] == 4096
			}},
		{args: []string{"--net=tap0", "--block=disk.img", "k"}, kernel: "k", check: func(o *runOptions) bool {
			return o.netAny == "tap0" && o.blockAny == "disk.img"
		}},
		{args: []string{"--net:service0=tap0", "--net-pcap:service0=/tmp/s.pcap", "k"}, kernel: "k", check: func(o *runOptions) bool {
			return o.netPcap["service0"] == "/tmp/s.pcap"
		}},
		{args: []string{"--net-pcap:a=x", "--net-pcap:a=y", "k"}, err: "given twice"},
		{args: []string{"--net-pcap=x.pcap", "k"}, err: "--net-pcap=x.pcap: missing ':NAME'"},
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
		// Declared but not attached is monitor.New's to find (TestCLIErrorsAreOneLineWithHint).
		{[]string{"--net=tap0", "k"}, m, ""},
		{[]string{"--net:eth9=tap0", "--net=tap1", "--block=d", "k"}, m, "--net:eth9: resource not declared in manifest"},
		{[]string{"--block:service0=d", "--net=tap0", "k"}, m, "is NET_BASIC, not BLOCK_BASIC"},
		{[]string{"--net=tap0", "k"}, two, "declares 2 NET_BASIC devices (a, b): name one with --net:NAME=tap0"},
		{[]string{"--block=d", "k"}, two, "declares no BLOCK_BASIC device"},
		{[]string{"--net:service0=tap0", "--net=tap1", "--block=d", "k"}, m, "already attached"},
		{[]string{"--net:a=@3", "--net:b=@3", "k"}, two, "--net:b=@3: descriptor 3 is already given to --net:a"},
		{[]string{"--net:a=@3", "--net:b=@03", "k"}, two, "descriptor 3 is already given"},
		{[]string{"--net:a=@3", "--net:b=tap0", "k"}, two, ""},
		{[]string{"--net:a=@-1", "--net:b=tap0", "k"}, two, "want @ followed by an open tap file descriptor number"},
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
	t.Helper()
	path := filepath.Join(t.TempDir(), "guest.hvt")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLIRunsGuests(t *testing.T) {
	kvmtest.Require(t)
	hello := writeGuest(t, guests.Hello())
	status, out, errOut := runCLI("--mem=8", hello, "arg1", "arg2")
	if status != 0 || out != microguest.HelloText+"arg1 arg2\n" || errOut != "" {
		t.Errorf("hello: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	if status, _, errOut := runCLI("--mem=8", writeGuest(t, guests.Exit(300))); status != 300&0xff {
		t.Errorf("HALT(300): status %d, want %d (stderr %q)", status, 300&0xff, errOut)
	}
	status, out, errOut = runCLI("--mem=8", "--mem-hugepages", hello, "huge")
	if status != 0 || out != microguest.HelloText+"huge\n" || errOut != "" {
		t.Errorf("--mem-hugepages: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, _, errOut = runCLI("--mem=9", hello)
	if status != 0 || !strings.Contains(errOut, "adjusting memory to 8388608 bytes") {
		t.Errorf("--mem=9: status %d, stderr %q", status, errOut)
	}
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	status, _, errOut = runCLI("--mem=8", "--block:"+microguest.BlockDeviceName+"="+disk, writeGuest(t, guests.BlockRoundTrip()))
	if b, _ := os.ReadFile(disk); status != 0 || !bytes.Equal(b[512:1024], microguest.BlockPattern[:]) {
		t.Errorf("block round trip: status %d, stderr %q", status, errOut)
	}
}

// A guest fault is exit status 1 and one line naming it; archFault says
// which fault and what the line must name.
func TestCLIGuestFaultIsOneLine(t *testing.T) {
	kvmtest.Require(t)
	image, want := archFault()
	status, out, errOut := runCLI("--mem=8", writeGuest(t, image))
	if status != 1 || out != "" || strings.Count(errOut, "\n") != 1 ||
		!strings.HasPrefix(errOut, "unimon: guest fault: ") || !strings.Contains(errOut, want) {
		t.Errorf("status %d, stdout %q, stderr %q; want 1, none, one line naming %q", status, out, errOut, want)
	}
}

func TestCLIErrorsAreOneLineWithHint(t *testing.T) {
	block := writeGuest(t, guests.BlockRoundTrip())
	hello := writeGuest(t, guests.Hello())
	const help = "Try 'unimon --help'"
	tests := []struct {
		args []string
		want string
		hint string // expected in the second line; "" means no second line
	}{
		{[]string{"--bogus", "k"}, "unimon: unknown option --bogus", help},
		{[]string{block}, `declares BLOCK_BASIC device "storage" but it is not attached`, "Attach it with --block:storage=PATH"},
		{[]string{"/nonexistent.hvt"}, "cannot open unikernel", ""},
		{[]string{"--block=/nonexistent/disk", block}, "--block:storage: ", ""},
		{[]string{"--mem=8192", hello}, "--mem=8192: invalid guest memory size", help},
	}
	for _, tt := range tests {
		status, _, errOut := runCLI(tt.args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		ok := status == 1 && strings.Contains(lines[0], tt.want)
		if tt.hint == "" {
			ok = ok && len(lines) == 1
		} else {
			ok = ok && len(lines) == 2 && strings.Contains(lines[1], tt.hint)
		}
		if !ok {
			t.Errorf("%q: status %d, stderr %q, want %q then hint %q", tt.args, status, errOut, tt.want, tt.hint)
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

// cli returns the unimon command to run as a process: the one the ARM64
// lane put into its VM, which has no Go toolchain to build one, else a
// fresh build of this package.
func cli(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(laneproto.CLIEnv); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "unimon")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// hasVCPU reports whether process pid holds a KVM vCPU file descriptor.
func hasVCPU(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join(dir, e.Name())); strings.HasPrefix(l, "anon_inode:kvm-vcpu") {
			return true
		}
	}
	return false
}

// TestRunForeignArch: running a unikernel built for the other
// architecture says what it is and where it runs.
func TestRunForeignArch(t *testing.T) {
	kernel, arch := writeGuest(t, microguest.A64Hello()), "arm64"
	if runtime.GOARCH == "arm64" {
		kernel, arch = writeGuest(t, microguest.Hello()), "amd64"
	}
	checkLines(t, []string{kernel}, "e_machine", "It is an "+arch+" unikernel and this host runs "+runtime.GOARCH)
}
