//go:build linux && amd64

package goguests

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The address announcements, the DHCP retries after a first exchange
// nobody answered, and the DNS servers of new leases, each against
// dnsmasq and the kernel's neighbour table in a private namespace.

// guestMAC is the MAC address of service0 in r's info lines.
func guestMAC(t *testing.T, r *devRun) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^iface: service0 (\S+) `).FindStringSubmatch(r.console())
	if m == nil {
		t.Fatalf("no service0 line in the console:\n%s", r.console())
	}
	return m[1]
}

// waitNeigh waits until n's neighbour table has mac for addr (20 s at
// most: the announcement comes as the address is taken), and fails t if
// it never does.
func (n *tapNS) waitNeigh(t *testing.T, addr, mac string) {
	t.Helper()
	var out []byte
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var err error
		if out, err = n.ns.Command(context.Background(), "ip", "neigh", "show", addr, "dev", "tap0").CombinedOutput(); err != nil {
			t.Fatalf("ip neigh: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "lladdr "+mac+" ") {
			return
		}
	}
	t.Errorf("the namespace's neighbour entry for %s never had the guest's MAC %s: %q", addr, mac, out)
}

// pingOnce pings addr once from n's namespace and fails t if it gets no
// answer.
func (n *tapNS) pingOnce(t *testing.T, addr string) {
	t.Helper()
	if out, err := n.ns.Command(context.Background(), "ping", "-c", "1", "-W", "5", addr).CombinedOutput(); err != nil {
		t.Errorf("the first ping of %s: %v\n%s", addr, err, out)
	}
}

// A unikernel announces its IPv4 address when it takes it (RFC 5227
// ARP announcements), from an option or a DHCP lease: the namespace's
// stale entry with another MAC, or the FAILED one dnsmasq's ping check
// left, gets the unikernel's MAC without the namespace sending anything,
// and the first ping gets through.
func TestNetARPAnnounce(t *testing.T) {
	for _, tc := range []struct {
		name string
		dhcp bool
	}{
		{"static", false},
		{"dhcp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			n := newTapNS(t, 23)
			var r *devRun
			addr := n.net + "2"
			if tc.dhcp {
				n.startDnsmasq(t, 50, 60, "2m", "--port=0")
				r = sockGuest(t, n.tap, "info", "sleep", "100s")
				addr = dhcpAddr(t, r, n)
			} else {
				n.ns.IP("neigh", "replace", addr, "lladdr", "02:00:5e:00:00:99", "dev", "tap0", "nud", "stale")
				r = sockGuest(t, n.tap, "--unimon:ipv4="+addr+"/24", "info", "sleep", "100s")
				if !r.waitLine(t, "resolv.conf:") {
					return
				}
			}
			n.waitNeigh(t, addr, guestMAC(t, r))
			n.pingOnce(t, addr)
		})
	}
}
