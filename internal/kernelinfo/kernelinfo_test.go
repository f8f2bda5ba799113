package kernelinfo

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/guestabi/manifestjson"
	"github.com/unimon/unimon/internal/microguest"
)

func write(t *testing.T, image []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "guest.hvt")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(args ...string) (status int, stdout, stderr string) {
	var out, errb bytes.Buffer
	status = Main(args, &out, &errb)
	return status, out.String(), errb.String()
}

// Unikernels of either architecture are described on any host, so a
// cross-build can be checked where it was made: the manifest's devices,
// the ABI, and the feature requests (none for these upstream-style
// guests: an empty list, not null).
func TestInfoPrintsJSON(t *testing.T) {
	tests := []struct {
		name    string
		image   []byte
		arch    string
		devices []manifestjson.Device
	}{
		{"x86_64 hello", microguest.Hello(), "amd64", nil},
		{"x86_64 net echo", microguest.NetEcho(), "amd64", []manifestjson.Device{{Name: microguest.NetDeviceName, Type: "NET_BASIC"}}},
		{"arm64 hello", microguest.A64Hello(), "arm64", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := write(t, tt.image)
			status, out, errOut := run(file)
			if status != 0 || errOut != "" {
				t.Fatalf("status %d: %s", status, errOut)
			}
			var got Output
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.File != file || got.Arch != tt.arch || got.ABI != (ABI{Target: "hvt", Version: guestabi.ABIVersion}) ||
				got.Requests == nil || len(got.Requests) != 0 || got.BootWorkingSet == nil || len(got.BootWorkingSet) != 0 ||
				len(got.Manifest.Devices) != len(tt.devices) {
				t.Fatalf("info: %+v", got)
			}
			for i, d := range tt.devices {
				if got.Manifest.Devices[i] != d {
					t.Errorf("device %d: %+v, want %+v", i, got.Manifest.Devices[i], d)
				}
			}
		})
	}
}

// A unikernel built by unimon build asks for features and lists its boot
// working set; info shows both.
func TestInfoUnimonNotes(t *testing.T) {
	ranges := []guestabi.Range{{Start: 0x2d0000, Len: 0x46000}, {Start: 0x5a0000, Len: 1 << 20}}
	file := write(t, microguest.ELF(microguest.Guest{Machine: microguest.Host.Machine, Text: make([]byte, 16),
		Request: guestabi.RequestIRQChip, WorkingSet: guestabi.EncodeWorkingSet(ranges)}))
	status, out, errOut := run(file)
	var got Output
	if err := json.Unmarshal([]byte(out), &got); status != 0 || err != nil {
		t.Fatalf("status %d, %v: %s%s", status, err, out, errOut)
	}
	want := []Range{{Start: "0x2d0000", Length: 0x46000}, {Start: "0x5a0000", Length: 1 << 20}}
	if !slices.Equal(got.Requests, []string{"irqchip"}) || !slices.Equal(got.BootWorkingSet, want) {
		t.Errorf("requests %q, boot working set %+v; want [irqchip], %+v", got.Requests, got.BootWorkingSet, want)
	}
}

// What is not a unikernel unimon can describe fails with one line (and
// the hint where there is one), as `unimon KERNEL` does.
func TestInfoErrors(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "guest.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // a plain `go test -c` binary
	if err != nil {
		t.Fatal(err)
	}
	twice := write(t, microguest.ELF(microguest.Guest{Machine: microguest.Host.Machine, Text: make([]byte, 16), Manifest: guestabi.NewManifest(
		guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic}, guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic})}))
	tests := []struct {
		args       []string
		want, hint string
	}{
		{nil, "usage: unimon info KERNEL", "Try 'unimon --help' for the options."},
		{[]string{"a", "b"}, "usage: unimon info KERNEL", "Try 'unimon --help' for the options."},
		{[]string{"/nonexistent.hvt"}, "cannot open unikernel", ""},
		{[]string{dir}, "is a directory", ""},
		// A FIFO with no writer would block a plain open forever.
		{[]string{fifo}, "is a named pipe (FIFO), not a regular file", ""},
		{[]string{write(t, []byte("#!/bin/sh\necho hello\n"))}, `not an ELF file: it starts with "#!/b"`, ""},
		{[]string{write(t, nil)}, "not an ELF file: the file is empty", ""},
		{[]string{self}, "No Solo5 ABI information found", "Not a Solo5 unikernel: built with plain go build? Use unimon build."},
		{[]string{twice}, `Solo5 manifest is invalid: entries 1 and 2 are both named "storage"`, ""},
		{[]string{"new\nline.hvt"}, `new\nline.hvt`, ""}, // one line whatever was typed
	}
	for _, tt := range tests {
		status, out, errOut := run(tt.args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		ok := status == 1 && out == "" && strings.HasPrefix(lines[0], "unimon: ") && strings.Contains(lines[0], tt.want)
		if tt.hint == "" {
			ok = ok && len(lines) == 1
		} else {
			ok = ok && len(lines) == 2 && lines[1] == tt.hint
		}
		if !ok {
			t.Errorf("info %q: status %d, stderr %q\nwant status 1, %q, then hint %q", tt.args, status, errOut, tt.want, tt.hint)
		}
	}
}

// -h prints the synopsis and succeeds, as the builder's other commands do.
func TestInfoHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if status, out, errOut := run(arg); status != 0 || out != "" || errOut != Usage+"\n" {
			t.Errorf("info %s: status %d, stdout %q, stderr %q", arg, status, out, errOut)
		}
	}
}
