package hostile

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// guestMem is the memory every VM of these suites gets: the smallest
// there is, so many fit at once.
const guestMem = 2 << 20

// neverEndsAfter is how long a guest that never halts runs before the
// test cancels it: cancelling is the host's only way out, and what is
// tested is that it works, not how fast.
const neverEndsAfter = 300 * time.Millisecond

// ends bounds every other run: generous, so a slow machine never fails a
// correct monitor, but a hang still ends the test with a clear failure.
const ends = 2 * time.Minute

// vmDevices are a block device in memory and an in-process net device,
// attached under the names the guests declare.
type vmDevices struct {
	block devices.Block
	net   *devices.PipeEnd
	peer  *devices.PipeEnd
}

func newDevices(t *testing.T) *vmDevices {
	t.Helper()
	disk := make([]byte, 4096)
	blk, err := devices.NewBlock(bytes.NewReader(disk), nil, uint64(len(disk)), 512)
	if err != nil {
		t.Fatal(err)
	}
	guest, host, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &vmDevices{block: blk, net: guest, peer: host}
}

func (d *vmDevices) Close() {
	d.block.Close()
	d.net.Close()
	d.peer.Close()
}

// runHostile runs g and returns its status and error, or the error from
// New (refused true).
func runHostile(t *testing.T, g microguest.HostileGuest, d *vmDevices) (status int, err error, refused bool) {
	t.Helper()
	cfg := monitor.Config{KernelImage: g.ELF, Memory: guestMem}
	if g.Block {
		cfg.Block = map[string]devices.Block{microguest.BlockDeviceName: d.block}
	}
	if g.Net {
		cfg.Net = map[string]devices.Net{microguest.NetDeviceName: d.net}
	}
	vm, err := monitor.New(cfg)
	if err != nil {
		return 0, err, true
	}
	defer vm.Close()
	limit := ends
	if g.Want == microguest.OutcomeNeverEnds {
		limit = neverEndsAfter
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	status, err = vm.Run(ctx)
	return status, err, false
}

// oneLine checks err is a single line that says something, or, for
// errors.Join of several (New reports every unattached device at once),
// that each of them is.
func oneLine(t *testing.T, err error) {
	t.Helper()
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			oneLine(t, e)
		}
		return
	}
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
}

func TestHostileSuite(t *testing.T) {
	kvmtest.Require(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("the suite's own guests (ports, MMIO, CPU state, ELF) are x86_64 machine code; its hostile hypercall arguments run on every architecture in monitor's TestHostileArguments")
	}
	suite := microguest.HostileSuite()
	if len(suite) < 100 {
		t.Errorf("the suite has %d hostile guests, want at least 100", len(suite))
	}
	seen := map[string]bool{}
	d := newDevices(t)
	defer d.Close()
	before := measure(t)
	for _, g := range suite {
		if seen[g.Name] {
			t.Errorf("two guests named %s", g.Name)
		}
		seen[g.Name] = true
		t.Run(g.Name, func(t *testing.T) {
			status, err, refused := runHostile(t, g, d)
			if err != nil {
				oneLine(t, err)
			}
			if refused {
				if g.Want != microguest.OutcomeRefused {
					t.Fatalf("New refused it: %v", err)
				}
				if !errors.Is(err, monitor.ErrKernel) && !errors.Is(err, monitor.ErrConfig) && !errors.Is(err, monitor.ErrNotAttached) {
					t.Errorf("New: %v, want ErrKernel, ErrConfig or ErrNotAttached", err)
				}
				return
			}
			switch g.Want {
			case microguest.OutcomeFault:
				if !errors.Is(err, monitor.ErrGuest) {
					t.Errorf("status %d, err %v; want a guest fault", status, err)
				}
			case microguest.OutcomeStatus:
				if err != nil || status != g.Status {
					t.Errorf("status %d, err %v; want status %d", status, err, g.Status)
				}
			case microguest.OutcomeEnds, microguest.OutcomeRefused:
				if err != nil && !errors.Is(err, monitor.ErrGuest) {
					t.Errorf("status %d, err %v; want a guest fault or the guest's status", status, err)
				}
			case microguest.OutcomeNeverEnds:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("status %d, err %v; want it to run until cancelled", status, err)
				}
			}
		})
	}
	t.Logf("%d hostile guests run", len(suite))
	healthy(t, d)
	noGrowth(t, before, runtime.GOMAXPROCS(0)+4, 64<<10)
}

// healthy runs a well-behaved guest after the suite.
func healthy(t *testing.T, d *vmDevices) {
	t.Helper()
	var out bytes.Buffer
	vm, err := monitor.New(monitor.Config{KernelImage: microguest.Hello(), Memory: guestMem, Args: []string{"after"}, Console: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ends)
	defer cancel()
	if status, err := vm.Run(ctx); status != 0 || err != nil || out.String() != microguest.HelloText+"after\n" {
		t.Errorf("hello after the suite: status %d, err %v, output %q", status, err, out.String())
	}
}
