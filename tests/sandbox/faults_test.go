package sandbox

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
)

// TestHostFaults breaks a device under a running guest, in the
// locked-down CLI: the block file truncated, the block device made
// read-only, the tap deleted. Each must end the run with exit status 1
// and one line naming the hypercall, and what the guest wrote before the
// fault must be on the device. The guest (microguest.BlockAfterSignal)
// writes, then signals over its tap and waits for the host's reply,
// which comes only once the fault is in place.
func TestHostFaults(t *testing.T) {
	kvmtest.Require(t)
	kernel := write(t, "fault.hvt", microguest.BlockAfterSignal())
	tests := []struct {
		name   string
		loop   bool // back the disk with a loop device over the file
		fault  func(t *testing.T, ns *netnstest.NS, file, dev string)
		status int
		stderr []string // substrings of the one line, when status is 1
		kept   bool     // the first write must be in the file afterwards
	}{
		{name: "healthy", fault: func(*testing.T, *netnstest.NS, string, string) {}, kept: true},
		{name: "block-truncated", fault: func(t *testing.T, _ *netnstest.NS, file, _ string) {
			if err := os.Truncate(file, 0); err != nil {
				t.Fatal(err)
			}
		}, status: 1, stderr: []string{"BLOCK_READ", "offset 0xe00"}},
		{name: "block-read-only", loop: true, fault: func(t *testing.T, _ *netnstest.NS, _, dev string) {
			if out, err := exec.Command("blockdev", "--setro", dev).CombinedOutput(); err != nil {
				t.Fatalf("blockdev --setro: %v\n%s", err, out)
			}
		}, status: 1, stderr: []string{"BLOCK_WRITE", "operation not permitted"}, kept: true},
		{name: "tap-deleted", fault: func(t *testing.T, ns *netnstest.NS, _, _ string) {
			ns.IP("link", "del", "tap0")
		}, status: 1, stderr: []string{"NET_READ"}, kept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := write(t, "disk.img", make([]byte, microguest.BlockFaultDiskSize))
			dev := file
			if tt.loop {
				out, err := exec.Command("losetup", "--find", "--show", file).Output()
				if err != nil {
					t.Fatalf("losetup: %v", err)
				}
				dev = strings.TrimSpace(string(out))
				// A loop device keeps its read-only flag across detach:
				// clear it now and on the way out.
				setRW := func() { exec.Command("blockdev", "--setrw", dev).Run() }
				setRW()
				defer exec.Command("losetup", "--detach", dev).Run()
				defer setRW()
			}
			ns := netnstest.New(t)
			ns.AddTap("tap0", "", 0)
			ns.DisableIPv6("tap0")
			link := ns.Packet("tap0")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := command(t, ctx, ns, "--mem=8", "--net:"+microguest.NetDeviceName+"=tap0",
				"--block:"+microguest.BlockDeviceName+"="+dev, kernel)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The guest's frame says its first write is done.
			buf := make([]byte, 2048)
			signalled := false
			for deadline := time.Now().Add(time.Minute); !signalled && time.Now().Before(deadline); {
				n, err := link.Read(buf, time.Second)
				signalled = err == nil && n >= 14 && bytes.Equal(buf[12:14], microguest.NetEchoFrame[12:14])
			}
			if !signalled {
				cancel()
				cmd.Wait()
				t.Fatalf("the guest never signalled; stderr %q", errb.String())
			}
			tt.fault(t, ns, file, dev)
			if tt.name == "tap-deleted" {
				cmd.Wait()
			} else {
				waitSending(cmd, link, microguest.NetEchoFrame[:])
			}
			status := cmd.ProcessState.ExitCode()
			checkNotDenied(t, errb.String())
			if status != tt.status {
				t.Errorf("status %d, want %d; stderr %q", status, tt.status, errb.String())
			}
			if tt.status == 0 && (errb.Len() != 0 || !bytes.Equal(out.Bytes(), make([]byte, microguest.BlockRoundTripSize))) {
				t.Errorf("stdout %d bytes, stderr %q", out.Len(), errb.String())
			}
			if tt.status == 1 {
				line := errb.String()
				if strings.Count(line, "\n") != 1 {
					t.Errorf("want one line on stderr, got %q", line)
				}
				for _, s := range tt.stderr {
					if !strings.Contains(line, s) {
						t.Errorf("stderr %q lacks %q", line, s)
					}
				}
			}
			if tt.kept {
				disk, err := os.ReadFile(filepath.Clean(file))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(disk[microguest.BlockRoundTripOffset:][:microguest.BlockRoundTripSize], microguest.BlockPattern[:]) {
					t.Errorf("the write before the fault is not on the device")
				}
			}
		})
	}
}
