package hostile

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/hypercall"
)

var allPorts = flag.Bool("allports", false, "TestPortsOnKVM: boot one guest per port, all 65,536 of them, instead of the ports around the hypercall range")

// TestPortsOnKVM boots a guest that does a 4-byte OUT to one port, for
// each port 0x4f8-0x50f (every hypercall port and eight on either side;
// HostileSuite has a sample of the rest, monitor/x86_64's TestEveryPort
// decodes all of them), or for every port 0-0xffff with -allports. A
// hypercall port runs its hypercall (the guest halts with 0, or a BLOCK
// or NET call is refused as an invalid hypercall: the guest has no
// devices); any other port ends the VM with a guest fault, one line
// naming the port.
func TestPortsOnKVM(t *testing.T) {
	kvmtest.Require(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("I/O ports are x86_64; arm64 hypercalls are MMIO, whose bad addresses monitor's TestGuestFaultsEndTheVM covers")
	}
	first, last := uint32(0x4f8), uint32(0x50f)
	if *allPorts {
		first, last = 0, 0xffff
	}
	before := measure(t)
	start := time.Now()
	for port := first; port <= last; port++ {
		if err := runPort(port); err != nil {
			t.Error(err)
		}
	}
	n := last - first + 1
	t.Logf("%d ports, one VM each, in %v (%v per VM)", n, time.Since(start).Round(time.Millisecond), (time.Since(start) / time.Duration(n)).Round(time.Microsecond))
	noGrowth(t, before, runtime.GOMAXPROCS(0)+4, 64<<10)
}

// runPort boots microguest.OutPort(port) and checks how it ended.
func runPort(port uint32) error {
	vm, err := monitor.New(monitor.Config{KernelImage: microguest.OutPort(port), Memory: guestMem})
	if err != nil {
		return fmt.Errorf("port %#x: New: %w", port, err)
	}
	defer vm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ends)
	defer cancel()
	status, err := vm.Run(ctx)
	if port > guestabi.PIOBase && port < guestabi.PIOBase+guestabi.NumHypercalls {
		if err == nil && status == 0 || errors.Is(err, hypercall.ErrInvalidHypercall) && strings.Contains(err.Error(), fmt.Sprintf("num=%d", port-guestabi.PIOBase)) {
			return nil
		}
		return fmt.Errorf("hypercall port %#x: status %d, err %v; want it dispatched", port, status, err)
	}
	if !errors.Is(err, monitor.ErrGuest) || !strings.Contains(err.Error(), fmt.Sprintf("port=%#x ", port)) || strings.Contains(err.Error(), "\n") {
		return fmt.Errorf("port %#x: status %d, err %v; want one line naming the port", port, status, err)
	}
	return nil
}
