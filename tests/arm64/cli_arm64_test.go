package arm64

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
)

// cli returns the unimon command to test: the one the ARM64 lane put into
// its VM (which has no Go toolchain), else a fresh build.
func cli(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(laneproto.CLIEnv); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "unimon")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/unimon/unimon/cmd/unimon").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/unimon: %v\n%s", err, out)
	}
	return bin
}

func writeGuest(t *testing.T, image []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "guest.hvt")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs the unimon command and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(cli(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running unimon: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func TestCLIRunsGuests(t *testing.T) {
	kvmtest.Require(t)
	status, out, errOut := runCLI(t, "--mem=8", writeGuest(t, microguest.A64Hello()), "arg1", "arg2")
	if status != 0 || out != microguest.HelloText+"arg1 arg2\n" || errOut != "" {
		t.Errorf("hello: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	if status, _, errOut := runCLI(t, "--mem=8", writeGuest(t, microguest.A64Exit(300))); status != 300&0xff {
		t.Errorf("HALT(300): status %d, want %d (stderr %q)", status, 300&0xff, errOut)
	}
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	status, _, errOut = runCLI(t, "--mem=8", "--block:"+microguest.BlockDeviceName+"="+disk, writeGuest(t, microguest.A64BlockRoundTrip()))
	if b, _ := os.ReadFile(disk); status != 0 || !bytes.Equal(b[512:1024], microguest.BlockPattern[:]) {
		t.Errorf("block round trip: status %d, stderr %q", status, errOut)
	}
}

func TestCLIGuestFaultIsOneLine(t *testing.T) {
	kvmtest.Require(t)
	status, out, errOut := runCLI(t, "--mem=8", writeGuest(t, microguest.A64BadMMIO()))
	if status != 1 || out != "" || strings.Count(errOut, "\n") != 1 ||
		!strings.HasPrefix(errOut, "unimon: guest fault: ") || !strings.Contains(errOut, "mmio=0x100000048") {
		t.Errorf("bad MMIO: status %d, stdout %q, stderr %q", status, out, errOut)
	}
}

func TestCLIInfo(t *testing.T) {
	status, out, errOut := runCLI(t, "info", writeGuest(t, microguest.A64NetEcho()))
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	var got struct {
		Manifest struct {
			Devices []struct{ Name, Type string } `json:"devices"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if d := got.Manifest.Devices; len(d) != 1 || d[0].Name != microguest.NetDeviceName || d[0].Type != "NET_BASIC" {
		t.Errorf("info: %s", out)
	}
}

// A real process: SIGTERM stops a spinning guest with exit status 1.
func TestCLISignalExitsOne(t *testing.T) {
	kvmtest.Require(t)
	cmd := exec.Command(cli(t), "--mem=8", writeGuest(t, microguest.A64Spin()))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Under emulation start-up takes a while: signal only once the vCPU
	// exists (the command installs its handler right after), plus a
	// margin, so the signal is not the runtime's default kill.
	for deadline := time.Now().Add(30 * time.Second); !hasVCPU(cmd.Process.Pid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(errb.String(), "exiting on signal") {
		t.Errorf("exit %v, stderr %q", err, errb.String())
	}
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
