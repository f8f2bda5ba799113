//go:build linux && amd64

package goguests

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/monitor"
)

// The socket-semantics tests run ./netguest's modes in sock.go: blocking
// sockets, socket timeouts and failed connects as Linux shows them to a
// program, and a DHCP lease kept up to date.

// sockGuest boots ./netguest with args, its net device on a pipe the
// test ends (or on net).
func sockGuest(t *testing.T, net devices.Net, args ...string) *devRun {
	t.Helper()
	if net == nil {
		net, _ = newPipe(t)
	}
	return startVM(t, monitor.Config{Kernel: netGuest(t, netDev), Net: map[string]devices.Net{netDev: net}, Args: args})
}

// Blocking sockets made with package syscall (no O_NONBLOCK): accept and
// connect wait for each other, a write of more than the socket buffers
// hold waits for room until all of it is sent (also in 64 KiB pieces,
// by writev and through os.NewFile), and the reader gets every byte; a
// blocking recvfrom waits for its datagram.
func TestNetBlockingSockets(t *testing.T) {
	noLeaks(t)
	r := sockGuest(t, nil, "--unimon:net=none", "blocking")
	r.wait(t, 0, `(?m)^one write: 4194304 <nil>$`, `(?m)^64 KiB writes: short 0, EAGAIN 0$`,
		`(?m)^writev: 4194304 <nil>$`, `(?m)^os\.File write: 4194304 <nil>$`, `(?m)^server read: 16777216 bytes, equal true$`,
		`(?m)^recvfrom: "datagram" <nil>$`, `(?m)^DONE$`)
}

// SO_RCVTIMEO and SO_SNDTIMEO bound the waits of blocking sockets as on
// Linux: EAGAIN, or a partial write; a timeval out of range is EDOM.
func TestNetSocketTimeouts(t *testing.T) {
	noLeaks(t)
	r := sockGuest(t, nil, "--unimon:net=none", "timeouts")
	r.wait(t, 0, `(?m)^SO_RCVTIMEO: 0\.100000$`, `(?m)^accept timeout: EAGAIN true$`,
		`(?m)^read timeout: EAGAIN true, waited true$`, `(?m)^write timeout: partial true \(<nil>\)$`,
		`(?m)^write timeout with full buffers: EAGAIN true$`, `(?m)^bad timeval: EDOM true$`, `(?m)^DONE$`)
}

// connErrLines are what netguest's connerr mode prints when each failed
// connect reports the real error (and a good one works), even though
// the network stack set each socket up before its connect.
var connErrLines = []string{
	`(?m)^dial refused: ECONNREFUSED true `, `(?m)^dial open: "ping" <nil>$`,
	`(?m)^raw connect nonblocking=true: ECONNREFUSED true \(connection refused\), SO_ERROR after 0$`,
	`(?m)^raw connect nonblocking=false: ECONNREFUSED true \(connection refused\), SO_ERROR after 0$`,
	`(?m)^DONE$`,
}

// A connect to a port nobody listens on is ECONNREFUSED for net.Dial
// and through SO_ERROR (once) on loopback inside the guest.
func TestNetConnectRefusedLoopback(t *testing.T) {
	noLeaks(t)
	r := sockGuest(t, nil, "--unimon:net=none", "connerr", "127.0.0.1:1", "self")
	r.wait(t, 0, connErrLines...)
}

// The same between two unikernels over a pipe: the refusal is the other
// unikernel's RST. (The server runs until the test stops it.)
func TestNetConnectRefusedRemote(t *testing.T) {
	noLeaks(t)
	a, b := newPipe(t)
	srv := sockGuest(t, a, "--unimon:ipv4=10.0.0.1/24", "echo", "10.0.0.1:7000")
	if !srv.waitLine(t, "echo listening on") {
		return
	}
	cli := sockGuest(t, b, "--unimon:ipv4=10.0.0.2/24", "connerr", "10.0.0.1:7001", "10.0.0.1:7000")
	cli.wait(t, 0, connErrLines...)
}

// startDnsmasq runs dnsmasq in n's namespace on tap0 as the DHCP server
// of addresses .first-.last for lease (dnsmasq's shortest is 2m), and as
// a DNS server unless extra has --port=0, with the extra options, until
// the end of the test or stop; it returns dnsmasq's log.
func (n *tapNS) startDnsmasq(t *testing.T, first, last int, lease string, extra ...string) (log *stampedWriter, stop func()) {
	t.Helper()
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Fatalf("dnsmasq is needed (make deps installs dnsmasq-base): %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--interface=tap0", "--bind-interfaces", "--except-interface=lo",
		fmt.Sprintf("--dhcp-range=%s%d,%s%d,255.255.255.0,%s", n.net, first, n.net, last, lease),
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-facility=-", "--log-dhcp", "--user=root"}, extra...)
	cmd := n.ns.Command(ctx, "dnsmasq", args...)
	log = &stampedWriter{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); cmd.Wait() }) }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("dnsmasq (%s%d-%d):\n%s", n.net, first, last, log.buf.String())
		}
	})
	return log, stop
}

// waitACK waits until dnsmasq's log has n DHCPACKs for addr, or the
// guest r stops.
func waitACK(t *testing.T, r *devRun, log *stampedWriter, addr string, n int) {
	t.Helper()
	acks := regexp.MustCompile(`DHCPACK\(tap0\) ` + regexp.QuoteMeta(addr) + ` `)
	for log.count(acks) < n {
		select {
		case <-r.done:
			t.Fatalf("the guest stopped before the DHCPACK for %s:\n%s", addr, r.console())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dhcpAddr waits for the guest's info lines and returns the address DHCP
// gave its device.
func dhcpAddr(t *testing.T, r *devRun, n *tapNS) string {
	t.Helper()
	if !r.waitLine(t, "resolv.conf:") {
		t.FailNow()
	}
	m := regexp.MustCompile(`iface: service0 \S+ \d+ \S+ \[(` + regexp.QuoteMeta(n.net) + `\d+)/24\]`).FindStringSubmatch(r.console())
	if m == nil {
		t.Fatalf("no DHCP address in the console:\n%s", r.console())
	}
	return m[1]
}

// ping pings addr from n's namespace until it answers once (10 s at
// most: the namespace may have found no host at addr before, when
// dnsmasq probed it before offering it, and gives up on the first echo
// at once).
func (n *tapNS) ping(t *testing.T, addr string) {
	t.Helper()
	// One echo at a time, up to ten: ping gives up at the first
	// "Destination Host Unreachable" however long -w allows, and a
	// neighbour entry can be FAILED for a moment (dnsmasq pings an
	// address before it offers it) until the guest's ARP announcement
	// (TestNetARPAnnounce) arrives.
	var out []byte
	var err error
	for range 10 {
		if out, err = n.ns.Command(context.Background(), "ping", "-c", "1", "-W", "1", addr).CombinedOutput(); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("ping %s: %v\n%s", addr, err, out)
}

// count is how many lines of w match re.
func (w *stampedWriter) count(re *regexp.Regexp) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.lines {
		if re.MatchString(l.text) {
			n++
		}
	}
	return n
}

// A unikernel configured by DHCP extends its lease before it ends: at
// T1 by asking the server that granted it (RENEWING, unicast; the test
// drops broadcast requests once the lease is granted), or, with those
// requests dropped, at T2 by broadcast (REBINDING). dnsmasq's shortest
// lease is two minutes; it sends the T2 it is told to (option 59) and a
// T1 before it, so the renewals come within seconds, as they would at
// half and seven eighths of a real lease. After the renewal the
// unikernel still answers on the address.
func TestNetDHCPRenew(t *testing.T) {
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Fatalf("iptables is needed (make deps installs it): %v", err)
	}
	for _, tc := range []struct {
		name string
		t2   string
		drop string // DHCP requests to this address are dropped once the lease is granted
	}{
		{"renewing", "4", "255.255.255.255"},
		{"rebinding", "3", "10.213.21.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			n := newTapNS(t, 21)
			log, _ := n.startDnsmasq(t, 50, 60, "2m", "--port=0", "--dhcp-option=option:T2,"+tc.t2)
			r := sockGuest(t, n.tap, "info", "sleep", "100s")
			addr := dhcpAddr(t, r, n)
			rule := []string{"-A", "INPUT", "-p", "udp", "--dport", "67", "-d", tc.drop, "-j", "DROP"}
			if out, err := n.ns.Command(context.Background(), "iptables", rule...).CombinedOutput(); err != nil {
				t.Fatalf("iptables %q: %v\n%s", rule, err, out)
			}
			waitACK(t, r, log, addr, 2)
			n.ping(t, addr)
		})
	}
}

// A NAK at renewal ends the lease: the unikernel drops the address, says
// so on the console, and gets a new lease, which the program sees
// (net.InterfaceAddrs) and the network reaches. The server that NAKs is
// a second dnsmasq, authoritative for other addresses, in place of the
// one that granted the first lease.
func TestNetDHCPNak(t *testing.T) {
	noLeaks(t)
	n := newTapNS(t, 22)
	log1, stop1 := n.startDnsmasq(t, 50, 60, "2m", "--port=0", "--dhcp-option=option:T2,4")
	r := sockGuest(t, n.tap, "info", "waitaddr", n.net+"7", "sleep", "100s")
	old := dhcpAddr(t, r, n)
	waitACK(t, r, log1, old, 1)
	stop1()
	log2, _ := n.startDnsmasq(t, 70, 79, "2m", "--port=0", "--dhcp-authoritative") // .7x for waitaddr
	if !r.waitLine(t, "waitaddr:") {
		return
	}
	m := regexp.MustCompile(`(?m)^waitaddr: (10\.213\.22\.7\d)/24$`).FindStringSubmatch(r.console())
	if m == nil {
		t.Fatalf("no new address in the console:\n%s", r.console())
	}
	if !regexp.MustCompile(`(?m)^unimon: DHCPv4 on service0: the server refused \(NAK\); the lease of ` + regexp.QuoteMeta(old) + `/24 ended, asking for a new one$`).MatchString(r.console()) {
		t.Errorf("no console line about the lease's end:\n%s", r.console())
	}
	waitACK(t, r, log2, m[1], 1)
	n.ping(t, m[1])
}
