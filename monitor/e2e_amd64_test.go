package monitor_test

// The x86_64-only end-to-end tests: what has no aarch64 counterpart
// (triple faults, port I/O), and the tap test, which needs a network
// namespace.

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/monitor"
)

// pcName is how the monitor's guest-fault errors name the program counter.
const pcName = "rip"

// archGuestFaults are the x86_64 ways for a guest to end its VM.
func archGuestFaults() []guestFault {
	return []guestFault{
		{"triple fault", microguest.TripleFault(), []string{"triple fault", "rip="}},
		{"unknown port", microguest.BadPort(), []string{"port=0x509"}},
		{"1-byte port access", microguest.BadPortSize(), []string{"port=0x501"}},
	}
}

// TestNetTap is here, not in e2e_test.go, because of where the arm64
// tests run: the ARM64 lane's VM is an initramfs without iproute2, so it
// cannot make network namespaces, and netnstest fails (rather than skips)
// as root without `ip`. Nothing in the tap path depends on the
// architecture.
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
		reply, peerErr = netEchoPeer(
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
	r := boot(t, context.Background(), guests.NetEcho(), monitor.Config{Net: map[string]devices.Net{microguest.NetDeviceName: tap}})
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
