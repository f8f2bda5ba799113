package monitor_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// manifestGuest is a guest that declares m; the checks below refuse it
// before it could run.
func manifestGuest(m *guestabi.Manifest) []byte {
	return microguest.ELF(microguest.Guest{Machine: microguest.Host.Machine, Text: make([]byte, 16), Manifest: m})
}

// Every device the Config and the manifest disagree about is named, not
// only the first.
func TestNewNamesEveryMismatchedDevice(t *testing.T) {
	var entries []guestabi.Entry
	for i := range guestabi.ManifestMaxDevices {
		typ := guestabi.DeviceBlockBasic
		if i%3 == 0 {
			typ = guestabi.DeviceNetBasic
		}
		entries = append(entries, guestabi.Entry{Name: "dev" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Type: typ})
	}
	image := manifestGuest(guestabi.NewManifest(entries...))
	_, err := monitor.New(monitor.Config{KernelImage: image})
	var de *monitor.DeviceError
	if !errors.Is(err, monitor.ErrNotAttached) || !errors.As(err, &de) || de.Name != entries[0].Name {
		t.Fatalf("err = %v, want ErrNotAttached with a *DeviceError for %q", err, entries[0].Name)
	}
	for _, e := range entries {
		if !strings.Contains(err.Error(), `"`+e.Name+`"`) {
			t.Errorf("error does not name %q: %v", e.Name, err)
		}
	}

	blk, err := devices.NewBlock(bytes.NewReader(make([]byte, 4096)), nil, 4096, 512)
	if err != nil {
		t.Fatal(err)
	}
	_, err = monitor.New(monitor.Config{KernelImage: microguest.Host.Hello(), Block: map[string]devices.Block{"x": blk, "y": blk, "z": blk}})
	if !errors.Is(err, monitor.ErrNotDeclared) || !errors.As(err, &de) || de.Name != "x" ||
		!strings.Contains(err.Error(), `"y"`) || !strings.Contains(err.Error(), `"z"`) {
		t.Errorf("three undeclared: err = %v", err)
	}
}

// Too little memory for the segments says how much is needed.
func TestNewSaysHowMuchMemory(t *testing.T) {
	image := microguest.ELF(microguest.Guest{Machine: microguest.Host.Machine, Text: make([]byte, 16), Data: []byte{1}, DataAddr: 0x400000})
	_, err := monitor.New(monitor.Config{KernelImage: image, Memory: 4 << 20})
	var me *monitor.MemoryError
	if !errors.As(err, &me) || !errors.Is(err, monitor.ErrConfig) || me.Need != 6<<20 || me.Size != 4<<20 ||
		!strings.Contains(err.Error(), "needs at least 6 MiB of guest memory, 4 MiB given") {
		t.Errorf("err = %v, want a *MemoryError needing 6 MiB", err)
	}
}

// A kernel that is not a regular file is refused without blocking (a FIFO
// with no writer would block a plain open forever) and says what it is.
func TestOpenKernelRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "k.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "k.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.hvt")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, msg string }{
		{dir, "is a directory"},
		{fifo, "is a named pipe (FIFO), not a regular file"},
		{link, "is a named pipe (FIFO)"},
		{sock, "is a socket"},
		{"/dev/null", "is a character device"},
		{filepath.Join(dir, "missing"), "no such file"},
	}
	for _, tt := range tests {
		f, err := monitor.OpenKernel(tt.path)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, monitor.ErrConfig) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("OpenKernel(%s) = %v, want ErrConfig mentioning %q", tt.path, err, tt.msg)
		}
		vm, err := monitor.New(monitor.Config{Kernel: tt.path})
		if err == nil {
			vm.Close()
		}
		if !errors.Is(err, monitor.ErrConfig) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("New(Kernel: %s) = %v, want ErrConfig mentioning %q", tt.path, err, tt.msg)
		}
	}
}
