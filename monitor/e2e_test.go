package monitor_test

// The end-to-end tests of the monitor API, written once for both
// architectures: every guest comes from microguest.Host, the catalogue of
// the machine the test runs on. What only one architecture has (triple
// faults and port I/O on x86_64, MMIO and PSCI on arm64, ...) is in
// e2e_amd64_test.go and e2e_arm64_test.go. On x86_64 machines the arm64
// build of this package runs in the ARM64 lane (internal/arm64lane).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// guests are the micro-guests this machine's KVM runs.
var guests = microguest.Host

// smallMem keeps test guests cheap; the micro-guests need a few pages.
const smallMem = 8 << 20

// noLeaks fails t if the test leaves file descriptors or goroutines
// behind.
func noLeaks(t *testing.T) {
	t.Helper()
	leakcheck.Check(t)
}

type result struct {
	status int
	out    []byte
	err    error
}

// guestDeadline bounds every boot without a deadline of its own: an
// aarch64 guest that takes an exception has no vector table and spins, so
// a broken mapping would otherwise hang the test until -test.timeout.
const guestDeadline = time.Minute

// boot runs image with cfg filled in and returns what happened.
func boot(t *testing.T, ctx context.Context, image []byte, cfg monitor.Config) result {
	t.Helper()
	return bootInspect(t, ctx, image, cfg, nil)
}

// bootInspect is boot that also hands the VM to inspect, if not nil,
// after Run and before Close.
func bootInspect(t *testing.T, ctx context.Context, image []byte, cfg monitor.Config, inspect func(*monitor.VM)) result {
	t.Helper()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, guestDeadline)
		defer cancel()
	}
	var out bytes.Buffer
	cfg.KernelImage = image
	if cfg.Memory == 0 {
		cfg.Memory = smallMem
	}
	cfg.Console = &out
	vm, err := monitor.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() {
		if err := vm.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	status, err := vm.Run(ctx)
	if inspect != nil {
		inspect(vm)
	}
	return result{status, out.Bytes(), err}
}

func TestHelloWithCommandLine(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	r := boot(t, context.Background(), guests.Hello(), monitor.Config{Args: []string{"one", "two words"}})
	if r.err != nil || r.status != 0 {
		t.Fatalf("status %d, err %v", r.status, r.err)
	}
	if want := microguest.HelloText + "one two words\n"; string(r.out) != want {
		t.Errorf("console %q, want %q", r.out, want)
	}
}

func TestExitStatus(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, status := range []int32{0, 1, 3, 255, 1000, -1} {
		r := boot(t, context.Background(), guests.Exit(status), monitor.Config{})
		if r.err != nil || r.status != int(status) {
			t.Errorf("HALT(%d): status %d, err %v", status, r.status, r.err)
		}
	}
}

func TestWalltimeIsHostClock(t *testing.T) {
	kvmtest.Require(t)
	before := time.Now().UnixNano()
	r := boot(t, context.Background(), guests.Walltime(), monitor.Config{})
	after := time.Now().UnixNano()
	if r.err != nil || len(r.out) != 8 {
		t.Fatalf("err %v, output %d bytes", r.err, len(r.out))
	}
	if got := int64(binary.LittleEndian.Uint64(r.out)); got < before || got > after {
		t.Errorf("WALLTIME %d outside the host's [%d, %d]", got, before, after)
	}
}

func TestPollTimeoutHonoured(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	const timeout = 50 * time.Millisecond
	start := time.Now()
	r := boot(t, context.Background(), guests.PollTimeout(uint64(timeout)), monitor.Config{})
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("POLL with a %v timeout returned after %v", timeout, elapsed)
	}
	if r.err != nil || len(r.out) != guestabi.PollSize {
		t.Fatalf("err %v, output %d bytes", r.err, len(r.out))
	}
	var p guestabi.Poll
	p.Decode(r.out)
	if p.TimeoutNsecs != uint64(timeout) || p.ReadySet != 0 || p.Ret != 0 {
		t.Errorf("poll with no devices: %+v", p)
	}
}

func TestBlockRoundTrip(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	blk, err := devices.OpenBlockFile(path, devices.BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer blk.Close()
	r := boot(t, context.Background(), guests.BlockRoundTrip(),
		monitor.Config{Block: map[string]devices.Block{microguest.BlockDeviceName: blk}})
	if r.err != nil || r.status != 0 {
		t.Fatalf("status %d, err %v, output %q", r.status, r.err, r.out)
	}
	disk, _ := os.ReadFile(path)
	if !bytes.Equal(disk[512:1024], microguest.BlockPattern[:]) {
		t.Errorf("sector 1 on the host file is not the guest's pattern")
	}
	if len(r.out) != 592 || !bytes.Equal(r.out[:512], microguest.BlockPattern[:]) {
		t.Fatalf("the guest did not read its pattern back (%d bytes of output)", len(r.out))
	}
	for i, s := range [][]byte{r.out[512:552], r.out[552:592]} {
		var io guestabi.BlockIO
		io.Decode(s)
		if io.Handle != 1 || io.Offset != 512 || io.Len != 512 || io.Ret != guestabi.ResultOK {
			t.Errorf("struct %d after the call: %+v", i, io)
		}
	}
}

// netEchoPeer plays the other side of the NetEcho guest over any frame
// channel: it waits for the guest's frame, checks it, then answers.
func netEchoPeer(read func([]byte) (int, error), write func([]byte) error) (reply []byte, err error) {
	buf := make([]byte, 2048)
	for {
		n, err := read(buf)
		if err != nil {
			return nil, err
		}
		// A tap also carries the kernel's own frames (IPv6 router
		// solicitations and the like): wait for the guest's.
		if n == len(microguest.NetEchoFrame) && bytes.Equal(buf[:n], microguest.NetEchoFrame[:]) {
			break
		}
	}
	reply = []byte("\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x88\xb5reply from the host, padded to sixty bytes...")
	return reply, write(reply)
}

// pipeEchoPeer makes an in-process pipe and runs netEchoPeer on its host
// end until ctx ends. It returns the guest's end and reply, which waits
// for the peer and returns the frame it echoed (failing t if it failed).
func pipeEchoPeer(t *testing.T, ctx context.Context) (devices.Net, func() []byte) {
	t.Helper()
	guestEnd, hostEnd, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { guestEnd.Close(); hostEnd.Close() })
	var reply []byte
	var peerErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		reply, peerErr = netEchoPeer(
			func(b []byte) (int, error) { return hostEnd.ReadFrameContext(ctx, b) },
			hostEnd.WriteFrame)
	})
	return guestEnd, func() []byte {
		t.Helper()
		wg.Wait()
		if peerErr != nil {
			t.Fatalf("host side: %v", peerErr)
		}
		return reply
	}
}

func TestNetInProcessPipe(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	guestEnd, reply := pipeEchoPeer(t, ctx)
	r := boot(t, ctx, guests.NetEcho(), monitor.Config{Net: map[string]devices.Net{microguest.NetDeviceName: guestEnd}})
	want := reply()
	if r.err != nil || r.status != 0 || !bytes.Equal(r.out, want) {
		t.Fatalf("status %d, err %v, guest received %q, want %q", r.status, r.err, r.out, want)
	}
}

// DeviceEcho uses a block and a net device in one run (the load tests
// run 64 at once): the host sees the pattern read back, then the frame it
// echoed, and the pattern on the disk.
func TestDeviceEcho(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	blk, err := devices.OpenBlockFile(path, devices.BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer blk.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	guestEnd, reply := pipeEchoPeer(t, ctx)
	r := boot(t, ctx, guests.DeviceEcho(), monitor.Config{
		Block: map[string]devices.Block{microguest.BlockDeviceName: blk},
		Net:   map[string]devices.Net{microguest.NetDeviceName: guestEnd},
	})
	want := append(append([]byte(nil), microguest.BlockPattern[:]...), reply()...)
	if r.err != nil || r.status != 0 || !bytes.Equal(r.out, want) {
		t.Fatalf("status %d, err %v, output %q, want %q", r.status, r.err, r.out, want)
	}
	if disk, _ := os.ReadFile(path); !bytes.Equal(disk[microguest.BlockRoundTripOffset:][:microguest.BlockRoundTripSize], microguest.BlockPattern[:]) {
		t.Errorf("the block file lacks the pattern the guest wrote")
	}
}

// guestFault is a guest the monitor must stop with an ErrGuest naming
// every one of want.
type guestFault struct {
	name  string
	image []byte
	want  []string
}

// Each fault ends the VM with a one-line error and no guest output. The
// cases only one architecture has come from archGuestFaults.
func TestGuestFaultsEndTheVM(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	faults := append([]guestFault{
		// Standard x86_64 KVM reports EFAULT, the nested PVM hosts an
		// MMIO exit; either way the error names the guest's PC in its
		// text page.
		{"write to text", guests.WriteText(), []string{pcName + "=0x10"}},
	}, archGuestFaults()...)
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			r := boot(t, context.Background(), tt.image, monitor.Config{})
			if !errors.Is(r.err, monitor.ErrGuest) {
				t.Fatalf("err = %v, want ErrGuest", r.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not mention %q", r.err, w)
				}
			}
			if strings.Contains(r.err.Error(), "\n") {
				t.Errorf("error is not one line: %q", r.err)
			}
			if len(r.out) != 0 {
				t.Errorf("guest output %q", r.out)
			}
		})
	}
}

// A unikernel for the other architecture is refused as a kernel error,
// not run.
func TestForeignGuestRejected(t *testing.T) {
	kvmtest.Require(t)
	for _, c := range []microguest.Catalogue{microguest.X86_64, microguest.AArch64} {
		if c.Arch == guests.Arch {
			continue
		}
		vm, err := monitor.New(monitor.Config{KernelImage: c.Exit(0), Memory: smallMem})
		if err == nil {
			vm.Close()
		}
		if !errors.Is(err, monitor.ErrKernel) {
			t.Errorf("New with a %s unikernel on %s: %v, want ErrKernel", c.Arch, guests.Arch, err)
		}
	}
}

func TestCancelStopsSpinningGuest(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := boot(t, ctx, guests.Spin(), monitor.Config{})
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

func TestCancelStopsLongPoll(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := boot(t, ctx, guests.PollTimeout(uint64(time.Hour)), monitor.Config{})
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

// Every hypercall with every hostile argument: fatal ones end the VM
// with an error naming the hypercall; the others give EINVAL.
func TestHostileArguments(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, c := range microguest.HostileCases() {
		t.Run(c.Name(), func(t *testing.T) {
			image, err := guests.Hostile(c.Call, c.Kind)
			if err != nil {
				t.Fatal(err)
			}
			r := boot(t, context.Background(), image, deviceConfig(t, c.Call, false))
			if c.Fatal() {
				if !errors.Is(r.err, monitor.ErrGuest) || !strings.Contains(r.err.Error(), c.Call.String()) {
					t.Fatalf("err = %v, want ErrGuest naming %s", r.err, c.Call)
				}
				if len(r.out) != 0 {
					t.Errorf("guest kept running after the bad call: output %q", r.out)
				}
				return
			}
			if r.err != nil || r.status != 0 {
				t.Fatalf("status %d, err %v", r.status, r.err)
			}
			size, retOff := guestabi.BlockIOSize, 32
			if c.Call == guestabi.HypercallNetRead || c.Call == guestabi.HypercallNetWrite {
				size, retOff = guestabi.NetIOSize, 24
			}
			if len(r.out) == 0 || len(r.out)%size != 0 {
				t.Fatalf("output %d bytes, want structs of %d", len(r.out), size)
			}
			for off := 0; off < len(r.out); off += size {
				if ret := binary.LittleEndian.Uint32(r.out[off+retOff:]); ret != uint32(guestabi.ResultEINVAL) {
					t.Errorf("struct %d: ret %d, want EINVAL", off/size, ret)
				}
			}
		})
	}
}

// Many hypercalls in a row, each an exit the monitor completes and
// resumes from. The time per exit is logged for the record, not checked
// (timings are make bench's): under the lane's emulation it says little
// about real hardware.
func TestHypercallLoops(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	const n = 1000
	for name, image := range map[string][]byte{"PUTS": guests.PutsLoop(n), "WALLTIME": guests.WalltimeLoop(n)} {
		start := time.Now()
		r := boot(t, context.Background(), image, monitor.Config{})
		if r.err != nil || r.status != 0 || len(r.out) != 0 {
			t.Errorf("%d %s: status %d, err %v, output %q", n, name, r.status, r.err, r.out)
		}
		t.Logf("%d %s hypercalls: %v per exit (boot included)", n, name, time.Since(start)/n)
	}
}

// Each VM of several running at once gets its own command line and
// console.
func TestManyVMsAtOnce(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Go(func() {
			var out bytes.Buffer
			vm, err := monitor.New(monitor.Config{KernelImage: guests.Hello(), Memory: smallMem,
				Args: []string{"vm", string(rune('a' + i))}, Console: &out})
			if err != nil {
				results[i].err = err
				return
			}
			defer vm.Close()
			results[i].status, results[i].err = vm.Run(context.Background())
			results[i].out = out.Bytes()
		})
	}
	wg.Wait()
	for i, r := range results {
		want := microguest.HelloText + "vm " + string(rune('a'+i)) + "\n"
		if r.err != nil || r.status != 0 || string(r.out) != want {
			t.Errorf("VM %d: status %d, err %v, console %q", i, r.status, r.err, r.out)
		}
	}
}

// failingWriter is a backend that refuses every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error)          { return 0, errors.New("backend is broken") }
func (failingWriter) WriteAt([]byte, int64) (int, error) { return 0, errors.New("backend is broken") }

// A valid request the host cannot serve ends the VM with ErrDevice, not
// ErrGuest: the guest did nothing wrong.
func TestHostFailureIsNotAGuestFault(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	disk, err := devices.NewBlock(bytes.NewReader(make([]byte, 4096)), failingWriter{}, 4096, 512)
	if err != nil {
		t.Fatal(err)
	}
	r := boot(t, context.Background(), guests.BlockRoundTrip(), monitor.Config{Block: map[string]devices.Block{microguest.BlockDeviceName: disk}})
	if !errors.Is(r.err, monitor.ErrDevice) || errors.Is(r.err, monitor.ErrGuest) || !strings.Contains(r.err.Error(), "BLOCK_WRITE") {
		t.Errorf("failing block backend: err = %v, want ErrDevice naming BLOCK_WRITE", r.err)
	}

	vm, err := monitor.New(monitor.Config{KernelImage: guests.Hello(), Memory: smallMem, Console: failingWriter{}})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	_, err = vm.Run(context.Background())
	if !errors.Is(err, monitor.ErrDevice) || errors.Is(err, monitor.ErrGuest) || !strings.Contains(err.Error(), "PUTS") {
		t.Errorf("failing console: err = %v, want ErrDevice naming PUTS", err)
	}
}

// Prefetch's goroutine and /dev/kvm fd are gone once its wait returns,
// however often it is called, and a boot after it runs as any other.
func TestPrefetch(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	wait := monitor.Prefetch()
	wait()
	wait()
	if r := boot(t, context.Background(), guests.Hello(), monitor.Config{}); r.err != nil || r.status != 0 {
		t.Fatalf("boot after Prefetch: status %d, %v", r.status, r.err)
	}
}
