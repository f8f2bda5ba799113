package monitor_test

// The x86_64-only end-to-end tests: what has no aarch64 counterpart
// (triple faults, port I/O), and the tap test, which needs a network
// namespace.

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

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
	ns.DisableIPv6("tap0") // the guest takes the first frame it gets: no kernel chatter
	var tap *devices.Tap
	err := ns.Do(func() (err error) {
		tap, err = devices.OpenTap("tap0", devices.MAC{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	if tap.MTU() != 1500 {
		t.Errorf("tap MTU %d, want 1500", tap.MTU())
	}
	link := ns.Packet("tap0")
	var reply []byte
	var peerErr error
	var wg sync.WaitGroup
	guestDone := make(chan struct{})
	wg.Go(func() {
		reply, peerErr = netEchoPeer(
			func(b []byte) (int, error) { return link.Read(b, 30*time.Second) },
			func(b []byte) error {
				// A fresh tap may drop what the kernel sends it for a
				// moment after attach, so answer again until the guest
				// is done, as a real peer would retransmit.
				for {
					if err := link.Write(b); err != nil {
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
