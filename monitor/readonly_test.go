package monitor_test

// Hypercall output aimed at read-only guest memory (the unikernel's own
// text, which the loader maps read-only on the host): a guest fault that
// ends that VM, never the host process.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// deviceConfig attaches the device a micro-guest making call declares
// (microguest's hostile guests): a block device over a real file
// (fileBlock) or over Go memory, or one end of an in-process net pipe,
// closed when the test ends.
func deviceConfig(t *testing.T, call guestabi.Hypercall, fileBlock bool) monitor.Config {
	t.Helper()
	var cfg monitor.Config
	switch call {
	case guestabi.HypercallBlockRead, guestabi.HypercallBlockWrite:
		var blk devices.Block
		if fileBlock {
			path := filepath.Join(t.TempDir(), "disk")
			if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := devices.OpenBlockFile(path, devices.BlockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			blk = f
		} else {
			var err error
			disk := make(memDisk, 4096)
			if blk, err = devices.NewBlock(disk, disk, 4096, 512); err != nil {
				t.Fatal(err)
			}
		}
		cfg.Block = map[string]devices.Block{microguest.BlockDeviceName: blk}
	case guestabi.HypercallNetRead, guestabi.HypercallNetWrite:
		a, b, err := devices.NewPipe(devices.PipeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		cfg.Net = map[string]devices.Net{microguest.NetDeviceName: a}
	}
	return cfg
}

// memDisk is a disk in Go memory: a backend whose reads are Go copies
// into guest memory, which would fault on a read-only page.
type memDisk []byte

func (d memDisk) ReadAt(p []byte, off int64) (int, error)  { return copy(p, d[off:]), nil }
func (d memDisk) WriteAt(p []byte, off int64) (int, error) { return copy(d[off:], p), nil }

// checkReadOnlyFault checks r is c's guest fault: ErrGuest (not
// ErrDevice), one line naming the hypercall and the read-only gpa, no
// guest output.
func checkReadOnlyFault(t *testing.T, c microguest.ReadOnlyCase, r result) {
	t.Helper()
	want := fmt.Sprintf("hypercall %v: write to read-only guest memory: gpa=%#x", c.Call, microguest.ReadOnlyGPA)
	if !errors.Is(r.err, monitor.ErrGuest) || errors.Is(r.err, monitor.ErrDevice) {
		t.Fatalf("%s: err = %v, want ErrGuest and not ErrDevice", c.Name(), r.err)
	}
	if msg := r.err.Error(); !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("%s: error %q is not one line naming %q", c.Name(), msg, want)
	}
	if len(r.out) != 0 {
		t.Errorf("%s: the guest went on after the bad call: output %q", c.Name(), r.out)
	}
}

// Every handler, one micro-guest each: output into read-only memory is a
// guest fault; input from it is fine. Block cases run over both kinds of
// backend: a file, where the write would be pread(2)'s EFAULT (a device
// error until now), and a Go io.ReaderAt, where it would kill the
// process.
func TestReadOnlyGuestMemory(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, c := range microguest.ReadOnlyCases() {
		backends := []bool{false}
		if c.Call == guestabi.HypercallBlockRead || c.Call == guestabi.HypercallBlockWrite {
			backends = []bool{false, true}
		}
		for _, file := range backends {
			name := c.Name()
			if file {
				name += "/file"
			}
			t.Run(name, func(t *testing.T) {
				r := boot(t, context.Background(), guests.ReadOnly(c), deviceConfig(t, c.Call, file))
				if c.Fatal() {
					checkReadOnlyFault(t, c, r)
					return
				}
				if r.err != nil || r.status != 0 {
					t.Fatalf("status %d, err %v", r.status, r.err)
				}
				switch {
				case c.Part == microguest.ReadOnlyArg:
					// PUTS or HALT of a zero struct in text: nothing to see.
				case c.Call == guestabi.HypercallPuts:
					if len(r.out) != 16 {
						t.Errorf("PUTS of text: output %q, want 16 bytes", r.out)
					}
				case c.Call == guestabi.HypercallBlockWrite || c.Call == guestabi.HypercallNetWrite:
					retOff := 32
					if c.Call == guestabi.HypercallNetWrite {
						retOff = 24
					}
					if len(r.out) < retOff+4 || binary.LittleEndian.Uint32(r.out[retOff:]) != uint32(guestabi.ResultOK) {
						t.Errorf("output %x, want the struct with ret OK", r.out)
					}
				}
			})
		}
	}
}

// healthyVMs is how many well-behaved VMs TestReadOnlyFaultAmongHealthyVMs
// keeps running while every hostile guest faults.
const healthyVMs = 16

// One process, 16 healthy VMs and every hostile read-only guest at once:
// each hostile VM ends with its guest fault and all 16 healthy ones run
// to completion with their own output (upstream's C tender segfaults on
// such a guest, and a host fault here would take all 16 with it).
func TestReadOnlyFaultAmongHealthyVMs(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	var wg sync.WaitGroup
	healthy := make([]result, healthyVMs)
	start := make(chan struct{})
	for i := range healthy {
		wg.Go(func() {
			// Half print (and are checked word for word), half make
			// thousands of exits, so they are mid-run when the faults hit.
			image, args := guests.Hello(), []string{"vm", fmt.Sprint(i)}
			if i%2 == 1 {
				image, args = guests.WalltimeLoop(1000), nil
			}
			var out bytes.Buffer
			vm, err := monitor.New(monitor.Config{KernelImage: image, Memory: smallMem, Args: args, Console: &out})
			if err != nil {
				healthy[i].err = err
				return
			}
			defer vm.Close()
			<-start
			healthy[i].status, healthy[i].err = vm.Run(context.Background())
			healthy[i].out = out.Bytes()
		})
	}
	var hostile []microguest.ReadOnlyCase
	for _, c := range microguest.ReadOnlyCases() {
		if c.Fatal() {
			hostile = append(hostile, c)
		}
	}
	faults := make([]result, len(hostile))
	for i, c := range hostile {
		cfg := deviceConfig(t, c.Call, false)
		wg.Go(func() {
			<-start
			faults[i] = boot(t, context.Background(), guests.ReadOnly(c), cfg)
		})
	}
	close(start)
	wg.Wait()
	for i, c := range hostile {
		checkReadOnlyFault(t, c, faults[i])
	}
	for i, r := range healthy {
		want := microguest.HelloText + fmt.Sprintf("vm %d\n", i)
		if i%2 == 1 {
			want = ""
		}
		if r.err != nil || r.status != 0 || string(r.out) != want {
			t.Errorf("healthy VM %d: status %d, err %v, console %q", i, r.status, r.err, r.out)
		}
	}
}
