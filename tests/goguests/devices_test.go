//go:build linux && (amd64 || arm64)

package goguests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/monitor"
)

func devGuest(t testing.TB) string { return image(t, "devguest.hvt") }

// devRun is one boot of the device guest with a block file and a net
// pipe end attached, running in the background.
type devRun struct {
	w      *stampedWriter
	done   chan struct{}
	status int
	err    error
}

func startDevGuest(t *testing.T, disk string, opts devices.BlockOptions, nic devices.Net, args ...string) *devRun {
	t.Helper()
	blk, err := devices.OpenBlockFile(disk, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blk.Close() })
	return startVM(t, monitor.Config{
		Kernel: devGuest(t), Memory: guestMem, Args: args,
		Block: map[string]devices.Block{devBlock: blk},
		Net:   map[string]devices.Net{devNet: nic},
	})
}

// startVM boots cfg (its console replaced) in the background; the VM is
// stopped at the end of the test.
func startVM(t testing.TB, cfg monitor.Config) *devRun {
	t.Helper()
	kvmtest.Require(t)
	r := &devRun{w: &stampedWriter{}, done: make(chan struct{})}
	cfg.Console = r.w
	if cfg.Memory == 0 {
		cfg.Memory = 256 << 20
	}
	vm, err := monitor.New(cfg)
	if err != nil {
		t.Fatalf("monitor.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	go func() {
		defer close(r.done)
		defer cancel()
		defer vm.Close()
		r.status, r.err = vm.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// openTap attaches to tap ifname in ns, until the end of the test.
func openTap(t testing.TB, ns *netnstest.NS, ifname string) *devices.Tap {
	t.Helper()
	var tap *devices.Tap
	if err := ns.Do(func() (err error) {
		tap, err = devices.OpenTap(ifname, devices.MAC{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Close() })
	return tap
}

// wait waits for the guest to exit and checks its status and console.
func (r *devRun) wait(t *testing.T, status int, patterns ...string) {
	t.Helper()
	<-r.done
	if r.err != nil {
		t.Fatalf("Run: %v\nconsole:\n%s", r.err, r.console())
	}
	run{r.status, r.console(), r.w}.want(t, status, patterns...)
}

func (r *devRun) console() string {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.w.buf.String()
}

// waitLine waits until the guest prints a line starting with prefix, or
// it exits.
func (r *devRun) waitLine(t testing.TB, prefix string) bool {
	t.Helper()
	for {
		if _, ok := r.w.lineAt(prefix); ok {
			return true
		}
		select {
		case <-r.done:
			t.Errorf("guest exited before printing %q: status %d, err %v\nconsole:\n%s", prefix, r.status, r.err, r.console())
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// idleFor sleeps d and fails t if this process (the monitor and its
// vCPU) used more than idleLimit(d) of CPU time: a guest that busy-waits
// uses all of it.
func idleFor(t *testing.T, d time.Duration, what string) {
	t.Helper()
	idleWithin(t, d, idleLimit(d), what)
}

// idleWithin sleeps d and fails t if this process used more than limit
// of CPU time.
func idleWithin(t *testing.T, d, limit time.Duration, what string) {
	t.Helper()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	time.Sleep(d)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	t.Logf("CPU time of the monitor over %v while %s: %v", d, what, cpu)
	if cpu > limit {
		t.Errorf("the monitor used %v of CPU over %v while %s (limit %v): the guest is busy-waiting", cpu, d, what, limit)
	}
}

func newDisk(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	for i := range b {
		b[i] = 0xaa
	}
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

func newPipe(t *testing.T) (guest, host *devices.PipeEnd) {
	t.Helper()
	g, h, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(); h.Close() })
	return g, h
}

// The guest writes 3000 bytes at offset 1000 (blocks 1-7, both ends
// partial) and the last 100 bytes through Seek and Write, reads them back
// with ReadAt and an io.SectionReader sized by Stat, and finds "nosuch"
// missing; the host finds exactly those bytes changed in the file.
func TestBlockFile(t *testing.T) {
	for _, bs := range []uint16{512, 4096} {
		t.Run(fmt.Sprint(bs), func(t *testing.T) { testBlockFile(t, bs) })
	}
}

func testBlockFile(t *testing.T, bs uint16) {
	noLeaks(t)
	const size = 64 << 10
	disk, before := newDisk(t, size)
	nic, _ := newPipe(t)
	r := startDevGuest(t, disk, devices.BlockOptions{SectorSize: bs}, nic, "block", devBlock)
	r.wait(t, 0, fmt.Sprintf(`block: size=%d blocksize=%d`, size, bs), `block: ok first=aaaaaaaa`)
	after, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), before...)
	for i := 0; i < 3000; i++ {
		want[1000+i] = byte(i*7 + 3)
	}
	for i := 0; i < 100; i++ {
		want[size-100+i] = byte(i*7 + 3)
	}
	if !bytes.Equal(after, want) {
		for i := range after {
			if after[i] != want[i] {
				t.Errorf("backing file differs first at byte %d: %#x, want %#x", i, after[i], want[i])
				break
			}
		}
	}
}

// The guest blocks a goroutine in Read on its net file; the host waits a
// second, sends a frame, and gets it back with the addresses swapped;
// then 100 more in turn and a burst of 50, echoed in order.
// While the guest waits, the monitor (this process) stays idle: the
// runtime's netpoller parks the goroutine and the bindings sleep in POLL.
func TestNetEcho(t *testing.T) {
	noLeaks(t)
	disk, _ := newDisk(t, 4096)
	nic, host := newPipe(t)
	r := startDevGuest(t, disk, devices.BlockOptions{}, nic, "--unimon:stats", "net", devNet)
	if !r.waitLine(t, "net: waiting") {
		return
	}
	idleFor(t, time.Second, "the guest waited for a frame")

	frame := func(payload string) []byte {
		f := make([]byte, 60)
		dst, src := nic.MAC(), host.MAC()
		copy(f[0:6], dst[:])
		copy(f[6:12], src[:])
		f[12], f[13] = 0x88, 0xb5 // local experimental ethertype
		copy(f[14:], payload)
		return f
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	buf := make([]byte, 2048)
	echo := func(f []byte) {
		t.Helper()
		n, err := host.ReadFrameContext(ctx, buf)
		if err != nil {
			t.Fatalf("reading the echo: %v\nconsole:\n%s", err, r.console())
		}
		want := append(append(append([]byte{}, f[6:12]...), f[0:6]...), f[12:]...)
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("echo is % x, want % x", buf[:n], want)
		}
	}
	// One frame after the wait, then 100 in turn, then a burst of 50
	// whose echoes come back in order.
	sent := 0
	for i := 0; i < 101; i++ {
		f := frame(fmt.Sprintf("hello through the netpoller %d", i))
		if err := host.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		echo(f)
		sent++
	}
	var burst [][]byte
	for i := 0; i < 50; i++ {
		f := frame(fmt.Sprintf("burst %d", i))
		if err := host.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		burst = append(burst, f)
	}
	for _, f := range burst {
		echo(f)
		sent++
	}
	if err := host.WriteFrame(frame("stop")); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 0, `net: mac=`+nic.MAC().String()+` mtu=1500`, `net: got 60 bytes`, fmt.Sprintf(`net: echoed %d\b`, sent))
	t.Logf("console:\n%s", r.console())
}

// Frames nobody reads do not make the guest busy: one sent while the
// device is not open is dropped, five sent while it is open but not read
// wait in the bindings' receive queue (the guest reads them afterwards,
// in order), and a Read with a deadline times out through the netpoller.
func TestNetUnread(t *testing.T) {
	noLeaks(t)
	disk, _ := newDisk(t, 4096)
	nic, host := newPipe(t)
	r := startDevGuest(t, disk, devices.BlockOptions{}, nic, "--unimon:stats", "netqueue", devNet)
	frame := func(seq byte) []byte {
		f := make([]byte, 60)
		dst, src := nic.MAC(), host.MAC()
		copy(f[0:6], dst[:])
		copy(f[6:12], src[:])
		f[12], f[13], f[14] = 0x88, 0xb5, seq
		return f
	}
	if !r.waitLine(t, "net: not open") {
		return
	}
	if err := host.WriteFrame(frame(0)); err != nil {
		t.Fatal(err)
	}
	idleFor(t, 500*time.Millisecond, "a frame waited for a device not open")
	if !r.waitLine(t, "net: open") {
		return
	}
	for i := byte(1); i <= 5; i++ {
		if err := host.WriteFrame(frame(i)); err != nil {
			t.Fatal(err)
		}
	}
	idleFor(t, 500*time.Millisecond, "frames waited unread on an open device")
	r.wait(t, 0, `net: frames \[1 2 3 4 5\]`, `net: deadline ok`)
	t.Logf("console:\n%s", r.console())
}

// Random reads and writes at any offset and length, across block
// boundaries and the end of the device, through every file call: the
// guest checks each read against its model of the device, and the host
// finds the model's contents in the backing file.
func TestBlockRandom(t *testing.T) {
	for _, bs := range []uint16{512, 4096} {
		t.Run(fmt.Sprint(bs), func(t *testing.T) {
			noLeaks(t)
			disk, _ := newDisk(t, 32*int(bs))
			nic, _ := newPipe(t)
			r := startDevGuest(t, disk, devices.BlockOptions{SectorSize: bs}, nic, "blockrandom", devBlock, "42", "500")
			r.wait(t, 0, `blockrandom: ok`)
			b, err := os.ReadFile(disk)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("sha256=%x", sha256.Sum256(b)); !strings.Contains(r.console(), want) {
				t.Errorf("the backing file's %s is not the guest's:\n%s", want, r.console())
			}
		})
	}
}

// A read system call on a net descriptor in blocking mode (after
// os.File.Fd) blocks the thread in the bindings until a frame comes,
// without busy-waiting.
func TestNetBlockingRead(t *testing.T) {
	noLeaks(t)
	disk, _ := newDisk(t, 4096)
	nic, host := newPipe(t)
	r := startDevGuest(t, disk, devices.BlockOptions{}, nic, "netraw", devNet)
	if !r.waitLine(t, "net: raw fd nonblock=false") {
		return
	}
	idleFor(t, 500*time.Millisecond, "a thread was blocked in read")
	f := make([]byte, 77)
	dst := nic.MAC()
	copy(f[0:6], dst[:])
	f[12], f[13] = 0x88, 0xb5
	if err := host.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 0, `net: raw read 77 bytes`)
}

// A read-only backing file reads, and a write fails with EIO.
func TestBlockReadOnly(t *testing.T) {
	noLeaks(t)
	disk, _ := newDisk(t, 4096)
	nic, _ := newPipe(t)
	r := startDevGuest(t, disk, devices.BlockOptions{ReadOnly: true}, nic, "blockro", devBlock)
	r.wait(t, 0, `blockro: read aaaa, write: true`)
}

// A frame reaches a goroutine blocked in Read while another goroutine
// computes and the guest is never idle.
func TestNetWhileBusy(t *testing.T) {
	noLeaks(t)
	disk, _ := newDisk(t, 4096)
	nic, host := newPipe(t)
	r := startDevGuest(t, disk, devices.BlockOptions{}, nic, "netbusy", devNet)
	if !r.waitLine(t, "net: busy") {
		return
	}
	f := make([]byte, 60)
	dst := nic.MAC()
	copy(f[0:6], dst[:])
	f[12], f[13] = 0x88, 0xb5
	if err := host.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 0, `net: got 60 bytes while busy`)
}

// The block example counts its boots on its disk.
func TestExampleBootCount(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	out := image(t, "bootcount.hvt")
	disk, _ := newDisk(t, 1<<20)
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for boot := 1; boot <= 2; boot++ {
		blk, err := devices.OpenBlockFile(disk, devices.BlockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var console bytes.Buffer
		vm, err := monitor.New(monitor.Config{Kernel: out, Memory: 32 << 20, Console: &console, Block: map[string]devices.Block{"storage": blk}})
		if err != nil {
			blk.Close()
			t.Fatal(err)
		}
		status, err := vm.Run(context.Background())
		vm.Close()
		blk.Close()
		want := fmt.Sprintf(`boot %d (device "storage": 1048576 bytes)`, boot)
		if err != nil || status != 0 || !strings.Contains(console.String(), want) {
			t.Fatalf("boot %d: status %d, err %v, console:\n%s", boot, status, err, console.String())
		}
	}
}

// The same echo over a real tap in a private network namespace: a packet
// socket on the tap plays the far end of the guest's link.
func TestNetTap(t *testing.T) {
	kvmtest.Require(t)
	if runtime.GOARCH == "arm64" {
		t.Skip("the ARM64 lane's VM has no iproute2 for a network namespace; the in-process pipe tests cover the net device there")
	}
	ns := netnstest.New(t)
	ns.AddTap("tap0", "", 0)
	ns.DisableIPv6("tap0") // only the test's frames on the link
	tap := openTap(t, ns, "tap0")
	link := ns.Packet("tap0")
	disk, _ := newDisk(t, 4096)
	r := startDevGuest(t, disk, devices.BlockOptions{}, tap, "net", devNet)
	if !r.waitLine(t, "net: waiting") {
		return
	}
	guest, peer := tap.MAC(), devices.MAC{0x02, 0, 0, 0, 0, 0x99}
	frame := func(payload string) []byte {
		f := make([]byte, 60)
		copy(f[0:6], guest[:])
		copy(f[6:12], peer[:])
		f[12], f[13] = 0x88, 0xb5 // local experimental ethertype
		copy(f[14:], payload)
		return f
	}
	// echoed sends f until its echo (source: the guest) comes back: a tap
	// may drop what the kernel sends it for a moment after attach.
	buf := make([]byte, 2048)
	echoed := func(f []byte) bool {
		for try := 0; try < 50; try++ {
			if err := link.Write(f); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(200 * time.Millisecond)
			for time.Now().Before(deadline) {
				n, err := link.Read(buf, time.Until(deadline))
				if err != nil {
					break
				}
				if n == len(f) && devices.MAC(buf[0:6]) == peer && devices.MAC(buf[6:12]) == guest && bytes.Equal(buf[12:n], f[12:]) {
					return true
				}
			}
		}
		return false
	}
	for i := 0; i < 20; i++ {
		if !echoed(frame(fmt.Sprintf("over a tap %d", i))) {
			t.Fatalf("frame %d: no echo from the guest\nconsole:\n%s", i, r.console())
		}
	}
	if err := link.Write(frame("stop")); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 0, `net: mac=`+tap.MAC().String()+` mtu=1500`, `net: echoed \d+`)
}
