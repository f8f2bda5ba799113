package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
)

// A guest that aims hypercall output at its read-only text exits 1 with
// one line naming the hypercall and the address, as any guest fault (the
// net cases are the monitor package's: they need a tap here).
func TestCLIReadOnlyOutputIsGuestFault(t *testing.T) {
	kvmtest.Require(t)
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range microguest.ReadOnlyCases() {
		if !c.Fatal() || c.Call == guestabi.HypercallNetRead || c.Call == guestabi.HypercallNetWrite {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			args := []string{"--mem=8"}
			if c.Call == guestabi.HypercallBlockRead || c.Call == guestabi.HypercallBlockWrite {
				args = append(args, "--block:"+microguest.BlockDeviceName+"="+disk)
			}
			status, out, errOut := runCLI(append(args, writeGuest(t, guests.ReadOnly(c)))...)
			want := fmt.Sprintf("hypercall %v: write to read-only guest memory: gpa=%#x", c.Call, microguest.ReadOnlyGPA)
			if status != 1 || out != "" || strings.Count(errOut, "\n") != 1 ||
				!strings.HasPrefix(errOut, "unimon: guest fault: ") || !strings.Contains(errOut, want) {
				t.Errorf("status %d, stdout %q, stderr %q; want 1, none, one line naming %q", status, out, errOut, want)
			}
		})
	}
}
