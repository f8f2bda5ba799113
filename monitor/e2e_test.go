package monitor_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/monitor"
)

// smallMem keeps test guests cheap; the micro-guests need a few pages.
const smallMem = 8 << 20

// noLeaks fails t if the test leaves file descriptors or goroutines
// behind.
func noLeaks(t *testing.T) {
	t.Helper()
	fds := countFDs(t)
	goroutines := runtime.NumGoroutine()
	t.Cleanup(func() {
		if got := countFDs(t); got != fds {
			t.Errorf("file descriptors: %d before, %d after", fds, got)
		}
		// Goroutines of finished work may take a moment to unwind.
		for i := 0; i < 100 && runtime.NumGoroutine() > goroutines; i++ {
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

// boot runs image with cfg filled in and returns what happened.
func boot(t *testing.T, ctx context.Context, image []byte, cfg monitor.Config) result {
	t.Helper()
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
	r := boot(t, context.Background(), microguest.Hello(), monitor.Config{Args: []string{"one", "two words"}})
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
		r := boot(t, context.Background(), microguest.Exit(status), monitor.Config{})
		if r.err != nil || r.status != int(status) {
			t.Errorf("HALT(%d): status %d, err %v", status, r.status, r.err)
		}
	}
}

func TestWalltimeIsHostClock(t *testing.T) {
	kvmtest.Require(t)
	before := time.Now().UnixNano()
	r := boot(t, context.Background(), microguest.Walltime(), monitor.Config{})
	after := time.Now().UnixNano()
	if r.err != nil || len(r.out) != 8 {
		t.Fatalf("err %v, output %d bytes", r.err, len(r.out))
	}
	got := int64(binary.LittleEndian.Uint64(r.out))
	if got < before || got > after {
		t.Errorf("WALLTIME %d outside the host's [%d, %d]", got, before, after)
	}
}

func TestPollTimeoutHonoured(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	const timeout = 50 * time.Millisecond
	start := time.Now()
	r := boot(t, context.Background(), microguest.PollTimeout(uint64(timeout)), monitor.Config{})
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("POLL with a %v timeout returned after %v", timeout, elapsed)
	}
	if r.err != nil || len(r.out) != guestabi.PollSize {
		t.Fatalf("err %v, output %d bytes", r.err, len(r.out))
	}
	var p guestabi.Poll
	p.Decode(r.out)
	if p.ReadySet != 0 || p.Ret != 0 {
		t.Errorf("poll with no devices: ready_set %#x ret %d", p.ReadySet, p.Ret)
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
	r := boot(t, context.Background(), microguest.BlockRoundTrip(),
		monitor.Config{Block: map[string]devices.Block{microguest.BlockDeviceName: blk}})
	if r.err != nil || r.status != 0 {
		t.Fatalf("status %d, err %v, output %q", r.status, r.err, r.out)
	}
	disk, _ := os.ReadFile(path)
	if !bytes.Equal(disk[512:1024], microguest.BlockPattern[:]) {
		t.Errorf("sector 1 on the host file is not the guest's pattern")
	}
	if !bytes.Contains(r.out, microguest.BlockPattern[:]) {
		t.Errorf("the guest did not read its pattern back")
	}
}

// netEchoPeer plays the other side of the NetEcho guest over any frame
// channel: it waits for the guest's frame, checks it, then answers.
func netEchoPeer(t *testing.T, read func([]byte) (int, error), write func([]byte) error) (reply []byte, err error) {
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
	var reply []byte
	var peerErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		reply, peerErr = netEchoPeer(t,
			func(b []byte) (int, error) { return hostEnd.ReadFrameContext(ctx, b) },
			hostEnd.WriteFrame)
	})
	r := boot(t, ctx, microguest.NetEcho(), monitor.Config{Net: map[string]devices.Net{microguest.NetDeviceName: guestEnd}})
	wg.Wait()
	if peerErr != nil {
		t.Fatalf("host side: %v", peerErr)
	}
	if r.err != nil || r.status != 0 || !bytes.Equal(r.out, reply) {
		t.Fatalf("status %d, err %v, guest received %q, want %q", r.status, r.err, r.out, reply)
	}
}

func TestNetTap(t *testing.T) {
	kvmtest.Require(t)
	ns := netnstest.New(t)
	ns.AddTap("tap0", "", 0)
	var tap *devices.Tap
	var sock int
	ns.DisableIPv6("tap0") // the guest takes the first frame it gets: no kernel chatter
	err := ns.Do(func() error {
		var err error
		if tap, err = devices.OpenTap("tap0", nil); err != nil {
			return err
		}
		// A packet socket on the tap sees what the guest sends and
		// transmits what the test sends through the tap to the guest.
		sock, err = packetSocket("tap0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	defer unix.Close(sock)
	if tap.MTU() != 1500 {
		t.Errorf("tap MTU %d, want 1500", tap.MTU())
	}
	var reply []byte
	var peerErr error
	var wg sync.WaitGroup
	guestDone := make(chan struct{})
	wg.Go(func() {
		deadline := time.Now().Add(30 * time.Second)
		reply, peerErr = netEchoPeer(t,
			func(b []byte) (int, error) {
				for time.Now().Before(deadline) {
					fds := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLIN}}
					if n, _ := unix.Poll(fds, 100); n > 0 {
						return unix.Read(sock, b)
					}
				}
				return 0, errors.New("no frame from the guest")
			},
			func(b []byte) error {
				// A fresh tap may drop what the kernel sends it for a
				// moment after attach, so answer again until the guest
				// is done, as a real peer would retransmit.
				for {
					if _, err := unix.Write(sock, b); err != nil {
						return err
					}
					select {
					case <-guestDone:
						return nil
					case <-time.After(200 * time.Millisecond):
					}
				}
			})
	})
	r := boot(t, context.Background(), microguest.NetEcho(), monitor.Config{Net: map[string]devices.Net{microguest.NetDeviceName: tap}})
	close(guestDone)
	wg.Wait()
	if peerErr != nil {
		t.Fatalf("namespace side: %v", peerErr)
	}
	if r.err != nil || r.status != 0 || !bytes.Equal(r.out, reply) {
		t.Fatalf("status %d, err %v, guest received %q, want %q", r.status, r.err, r.out, reply)
	}
}

// packetSocket opens a raw AF_PACKET socket bound to ifname.
func packetSocket(ifname string) (int, error) {
	const ethPAll = 0x0003
	htons := func(v uint16) uint16 { return v<<8 | v>>8 }
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(ethPAll)))
	if err != nil {
		return -1, err
	}
	// Asked on the calling thread, which is inside the namespace.
	ifi, err := net.InterfaceByName(ifname)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethPAll), Ifindex: ifi.Index})
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func TestGuestFaultsEndTheVM(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	tests := []struct {
		name  string
		image []byte
		want  []string // every one must appear in the error
	}{
		{"triple fault", microguest.TripleFault(), []string{"triple fault", "rip="}},
		// Standard KVM reports EFAULT, the nested PVM hosts an MMIO exit.
		{"write to text", microguest.WriteText(), []string{"rip=0x10"}},
		{"unknown port", microguest.BadPort(), []string{"port=0x509"}},
		{"1-byte port access", microguest.BadPortSize(), []string{"port=0x501"}},
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
			if strings.Contains(r.err.Error(), "\n") {
				t.Errorf("error is not one line: %q", r.err)
			}
		})
	}
}

func TestCancelStopsSpinningGuest(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := boot(t, ctx, microguest.Spin(), monitor.Config{})
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

func TestCancelStopsLongPoll(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := boot(t, ctx, microguest.PollTimeout(uint64(time.Hour)), monitor.Config{})
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}

// Every hypercall with every hostile argument: fatal ones end the VM
// with an error naming the hypercall; bad handles give EINVAL.
func TestHostileArguments(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, c := range microguest.HostileCases() {
		t.Run(c.Name(), func(t *testing.T) {
			image, err := microguest.Hostile(c.Call, c.Kind)
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
			size := guestabi.BlockIOSize
			retOff := 32
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

func TestManyVMsAtOnce(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			vm, err := monitor.New(monitor.Config{KernelImage: microguest.Exit(int32(i)), Memory: smallMem})
			if err != nil {
				errs[i] = err
				return
			}
			defer vm.Close()
			status, err := vm.Run(context.Background())
			if err == nil && status != i {
				err = errors.New("wrong exit status")
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("VM %d: %v", i, err)
		}
	}
}
