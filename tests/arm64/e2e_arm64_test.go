package arm64

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
	hostarm64 "github.com/unimon/unimon/monitor/arm64"
)

// smallMem keeps test guests cheap; the micro-guests need a few pages.
const smallMem = 8 << 20

// noLeaks fails t if the test leaves file descriptors or goroutines behind.
func noLeaks(t *testing.T) {
	t.Helper()
	fds := countFDs(t)
	goroutines := runtime.NumGoroutine()
	t.Cleanup(func() {
		if got := countFDs(t); got != fds {
			t.Errorf("file descriptors: %d before, %d after", fds, got)
		}
		// Goroutines of finished work may take a moment to unwind (and
		// everything is slow under emulation).
		for i := 0; i < 300 && runtime.NumGoroutine() > goroutines; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if got := runtime.NumGoroutine(); got > goroutines {
			t.Errorf("goroutines: %d before, %d after", goroutines, got)
		}
	})
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
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

func boot(t *testing.T, ctx context.Context, image []byte, cfg monitor.Config) result {
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
	return result{status, out.Bytes(), err}
}

func TestHelloWithCommandLine(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	r := boot(t, context.Background(), microguest.A64Hello(), monitor.Config{Args: []string{"one", "two words"}})
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
		r := boot(t, context.Background(), microguest.A64Exit(status), monitor.Config{})
		if r.err != nil || r.status != int(status) {
			t.Errorf("HALT(%d): status %d, err %v", status, r.status, r.err)
		}
	}
}

func TestBootInfo(t *testing.T) {
	kvmtest.Require(t)
	const mem = 16 << 20
	r := boot(t, context.Background(), microguest.A64BootInfo(), monitor.Config{Memory: mem, Args: []string{"x"}})
	if r.err != nil || r.status != 0 || len(r.out) != guestabi.BootInfoSize {
		t.Fatalf("status %d, err %v, output %d bytes", r.status, r.err, len(r.out))
	}
	var bi guestabi.BootInfo
	bi.Decode(r.out)
	freq, err := hostarm64.HostCounterFrequency()
	if err != nil {
		t.Fatal(err)
	}
	if bi.MemSize != mem || bi.CPUCycleFreq != freq || bi.Manifest != guestabi.ManifestAddr ||
		bi.Cmdline <= bi.Manifest || bi.KernelEnd <= guestabi.GuestMinBase || bi.NetRing != 0 {
		t.Errorf("boot info %+v (host CNTFRQ_EL0 %d)", bi, freq)
	}
	t.Logf("cpu_cycle_freq = CNTFRQ_EL0 = %d Hz", bi.CPUCycleFreq)
}

func TestWalltimeIsHostClock(t *testing.T) {
	kvmtest.Require(t)
	before := time.Now().UnixNano()
	r := boot(t, context.Background(), microguest.A64Walltime(), monitor.Config{})
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
	r := boot(t, context.Background(), microguest.A64PollTimeout(uint64(timeout)), monitor.Config{})
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
	r := boot(t, context.Background(), microguest.A64BlockRoundTrip(),
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

func TestNetInProcessPipe(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	guestEnd, hostEnd, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer guestEnd.Close()
	defer hostEnd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reply := []byte("\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x88\xb5reply from the host, padded to sixty bytes...")
	var peerErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		n, err := hostEnd.ReadFrameContext(ctx, buf)
		switch {
		case err != nil:
			peerErr = err
		case !bytes.Equal(buf[:n], microguest.NetEchoFrame[:]):
			peerErr = errors.New("the guest's frame is not NetEchoFrame")
		default:
			peerErr = hostEnd.WriteFrame(reply)
		}
	})
	r := boot(t, ctx, microguest.A64NetEcho(), monitor.Config{Net: map[string]devices.Net{microguest.NetDeviceName: guestEnd}})
	wg.Wait()
	if peerErr != nil {
		t.Fatalf("host side: %v", peerErr)
	}
	if r.err != nil || r.status != 0 || !bytes.Equal(r.out, reply) {
		t.Fatalf("status %d, err %v, guest received %q, want %q", r.status, r.err, r.out, reply)
	}
}

func TestGuestFaultsEndTheVM(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	tests := []struct {
		name  string
		image []byte
		want  []string // every one must appear in the error
	}{
		{"write to text", microguest.A64WriteText(), []string{"pc=0x10"}},
		{"unknown MMIO address", microguest.A64BadMMIO(), []string{"mmio=0x100000048", "not a hypercall address", "pc=0x10"}},
		{"MMIO read of a hypercall address", microguest.A64MMIORead(), []string{"read from mmio=0x100000008", "WALLTIME"}},
		{"MMIO store KVM cannot decode", microguest.A64MMIONoSyndrome(), []string{"gpa=0x100000040", "cannot decode"}},
		{"PSCI SYSTEM_OFF", microguest.A64PSCI(microguest.PSCISystemOff), []string{"PSCI SYSTEM_OFF"}},
		{"PSCI SYSTEM_RESET", microguest.A64PSCI(microguest.PSCISystemReset), []string{"PSCI SYSTEM_RESET"}},
	}
	for _, tt := range tests {
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
			if len(r.out) != 0 {
				t.Errorf("guest output %q", r.out)
			}
			t.Logf("%v", r.err)
		})
	}
}

func TestX86GuestRejected(t *testing.T) {
	kvmtest.Require(t)
	_, err := monitor.New(monitor.Config{KernelImage: microguest.Exit(0), Memory: smallMem})
	if !errors.Is(err, monitor.ErrKernel) {
		t.Fatalf("New with an x86_64 unikernel on arm64: %v, want ErrKernel", err)
	}
}

func TestCancelStopsSpinningGuest(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := boot(t, ctx, microguest.A64Spin(), monitor.Config{})
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

func TestCancelStopsLongPoll(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := boot(t, ctx, microguest.A64PollTimeout(uint64(time.Hour)), monitor.Config{})
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

// Every hypercall with every hostile argument: fatal ones end the VM with
// an error naming the hypercall; the others give EINVAL.
func TestHostileArguments(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, c := range microguest.HostileCases() {
		t.Run(c.Name(), func(t *testing.T) {
			image, err := microguest.A64Hostile(c.Call, c.Kind)
			if err != nil {
				t.Fatal(err)
			}
			cfg := monitor.Config{}
			switch c.Call {
			case guestabi.HypercallBlockRead, guestabi.HypercallBlockWrite:
				blk, err := devices.NewBlock(bytes.NewReader(make([]byte, 4096)), nil, 4096, 512)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Block = map[string]devices.Block{microguest.BlockDeviceName: blk}
			case guestabi.HypercallNetRead, guestabi.HypercallNetWrite:
				a, b, err := devices.NewPipe(devices.PipeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				defer b.Close()
				cfg.Net = map[string]devices.Net{microguest.NetDeviceName: a}
			}
			r := boot(t, context.Background(), image, cfg)
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

// The entry stack is the top of guest memory, mapped by the last 2 MiB
// block; the smallest and the largest memory sizes cover both ends of the
// page tables (4 KiB pages only, and every PMD page plus the fourth PUD
// entry). The 4 GiB mapping costs little: only touched pages are backed.
func TestStackAtTopOfMemory(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, mem := range []uint64{2 << 20, 1<<30 + 2<<20, 4 << 30} {
		r := boot(t, context.Background(), microguest.A64StackTop(), monitor.Config{Memory: mem})
		if r.err != nil || r.status != 0 {
			t.Errorf("memory %d MiB: status %d, err %v", mem>>20, r.status, r.err)
		}
	}
}

func TestFPUEnabled(t *testing.T) {
	kvmtest.Require(t)
	r := boot(t, context.Background(), microguest.A64FPU(), monitor.Config{})
	if r.err != nil || r.status != 0 {
		t.Fatalf("status %d, err %v", r.status, r.err)
	}
}

// Many hypercalls in a row, each an MMIO exit the monitor completes and
// resumes from. The time per exit is logged for the record, not checked:
// under the lane's emulation it says little about real hardware.
func TestHypercallLoops(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	const n = 1000
	for name, image := range map[string][]byte{"PUTS": microguest.A64PutsLoop(n), "WALLTIME": microguest.A64WalltimeLoop(n)} {
		start := time.Now()
		r := boot(t, context.Background(), image, monitor.Config{})
		if r.err != nil || r.status != 0 || len(r.out) != 0 {
			t.Errorf("%d %s: status %d, err %v, output %q", n, name, r.status, r.err, r.out)
		}
		t.Logf("%d %s hypercalls: %v per exit (boot included)", n, name, time.Since(start)/n)
	}
}

func TestManyVMsAtOnce(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Go(func() {
			var out bytes.Buffer
			vm, err := monitor.New(monitor.Config{KernelImage: microguest.A64Hello(), Memory: smallMem,
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
