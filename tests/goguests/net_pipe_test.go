//go:build linux && (amd64 || arm64)

package goguests

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/monitor"
)

// The networking tests that need no tap: ./netguest, ordinary net and
// net/http code, as a unikernel alone (loopback) and attached to
// in-process pipes (devices.NewPipe), two of them talking to each other.
// Pipes need neither iproute2 nor a namespace, so these run on amd64 and
// in the ARM64 lane alike (net_test.go has the tap tests).

const netDev = "service0"

// netGuest is ./netguest with the net devices nets in its manifest
// (none: loopback only): Images["netguest-NET1-NET2.hvt"].
func netGuest(t testing.TB, nets ...string) string {
	t.Helper()
	return image(t, netGuestImage(nets...))
}

// Inside one unikernel: an httptest server and its client, and a 4 MiB
// echo over ::1.
func TestNetLoopback(t *testing.T) {
	noLeaks(t)
	r := startVM(t, monitor.Config{Kernel: netGuest(t), Args: []string{"loopback"}})
	r.wait(t, 0, `(?m)^httptest: 200 hello /x2$`, `(?m)^ipv6 echo: 4194304 bytes, equal true$`, `(?m)^DONE$`)
}

// Every kind of file descriptor of the bindings' kernel in one program:
// a file in /tmp, a pipe and a loopback TCP socket (through the runtime's
// netpoller), then an eventfd and a pipe under an epoll of the program's
// own.
func TestNetKernelObjects(t *testing.T) {
	noLeaks(t)
	r := startVM(t, monitor.Config{Kernel: netGuest(t), Args: []string{"kernel"}})
	r.wait(t, 0, `(?m)^kernel: file 65536 bytes, equal true$`, `(?m)^kernel: pipe 1048576 bytes, equal true$`,
		`(?m)^kernel: socket 262144 bytes, equal true$`,
		`(?m)^kernel: epoll 2 events, eventfd ready true count 3, pipe ready true "x"$`, `(?m)^DONE$`)
}

// Two unikernels in this process talk TCP over an in-process pipe; the
// configuration options give interfaces, host name and resolv.conf.
func TestNetTwoUnikernels(t *testing.T) {
	noLeaks(t)
	a, b := newPipe(t)
	g := netGuest(t, netDev)
	srv := startVM(t, monitor.Config{Kernel: g, Net: map[string]devices.Net{netDev: a},
		Args: []string{"--unimon:ipv4=10.0.0.1/24", "serve", "10.0.0.1:8080"}})
	if !srv.waitLine(t, "listening on") {
		return
	}
	pcapPath := filepath.Join(t.TempDir(), "client.pcap")
	pf, err := os.Create(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	cli := startVM(t, monitor.Config{Kernel: g, Net: map[string]devices.Net{netDev: b},
		NetCapture: map[string]io.Writer{netDev: pf},
		Args: []string{"--unimon:ipv4=10.0.0.2/24", "--unimon:ipv4-gateway=10.0.0.1", "--unimon:dns=10.0.0.1",
			"--unimon:hostname=webby", "info", "get", "http://10.0.0.1:8080/", "get", "http://10.0.0.1:8080/quit"}})
	cli.wait(t, 0,
		`(?m)^iface: lo  65536 up\|loopback\|running \[127\.0\.0\.1/8 ::1/128\]$`,
		fmt.Sprintf(`(?m)^iface: service0 %s 1500 up\|broadcast\|multicast\|running \[10\.0\.0\.2/24\]$`, b.MAC()),
		`(?m)^hostname: webby$`, `(?m)^resolv\.conf: ".*nameserver 10\.0\.0\.1\\n"$`,
		`(?m)^get: 200 10000 `, `(?m)^DONE$`)
	srv.wait(t, 0, `(?m)^DONE$`)
	checkHandshake(t, pcapPath, 8080)
}

// checkHandshake reads a pcap file back with gopacket and looks for the
// three packets of a TCP handshake with port.
func checkHandshake(t *testing.T, path string, port layers.TCPPort) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("pcap link type %v, want Ethernet", r.LinkType())
	}
	var syn, synack, ack bool
	frames := 0
	src := gopacket.NewPacketSource(r, layers.LayerTypeEthernet)
	for p := range src.Packets() {
		frames++
		tcp, ok := p.TransportLayer().(*layers.TCP)
		if !ok {
			continue
		}
		switch {
		case tcp.SYN && !tcp.ACK && tcp.DstPort == port:
			syn = true
		case tcp.SYN && tcp.ACK && tcp.SrcPort == port && syn:
			synack = true
		case !tcp.SYN && tcp.ACK && tcp.DstPort == port && synack:
			ack = true
		}
	}
	if !syn || !synack || !ack {
		t.Errorf("pcap of %d frames: SYN %v, SYN-ACK %v, ACK %v; want the whole handshake", frames, syn, synack, ack)
	}
}

// A serving unikernel with no clients leaves the host CPU idle: under a
// fifth of idleLimit (5% of a CPU on amd64; the ARM64 lane's emulation,
// where this process's own garbage collection was seen to cost 175 ms
// once in ten runs, gets its wider bound), the network stack's goroutines
// and the kernel all waiting (in the netpoller, in the POLL hypercall).
func TestNetIdle(t *testing.T) {
	noLeaks(t)
	a, _ := newPipe(t)
	r := startVM(t, monitor.Config{Kernel: netGuest(t, netDev), Net: map[string]devices.Net{netDev: a},
		Args: []string{"--unimon:ipv4=10.0.0.1/24", "serve", ":8080"}})
	if !r.waitLine(t, "listening on") {
		return
	}
	time.Sleep(200 * time.Millisecond)
	const d = 2 * time.Second
	idleWithin(t, d, idleLimit(d)/5, "an idle server waited for clients")
}

// Without --unimon:ipv4 and with no DHCP server, the unikernel says so
// on the console and runs main without an IPv4 address (loopback
// works), while it keeps asking (TestNetDHCPLateServer).
func TestNetDHCPTimeout(t *testing.T) {
	noLeaks(t)
	a, _ := newPipe(t)
	r := startVM(t, monitor.Config{Kernel: netGuest(t, netDev), Net: map[string]devices.Net{netDev: a}, Args: []string{"info"}})
	r.wait(t, 0, `(?m)^unimon: DHCPv4 on service0: DISCOVER: no DHCP server answered; going on without an IPv4 address while asking again in the background \(or give --unimon:ipv4=ADDR/PREFIX\)$`,
		`(?m)^iface: service0 \S+ 1500 \S+ \[\]$`, `(?m)^DONE$`)
}

// Two net devices configured with --unimon:net= sections.
func TestNetTwoDevices(t *testing.T) {
	noLeaks(t)
	a, _ := newPipe(t)
	b, _ := newPipe(t)
	r := startVM(t, monitor.Config{Kernel: netGuest(t, netDev, "backend"), Net: map[string]devices.Net{netDev: a, "backend": b},
		Args: []string{"--unimon:net=backend", "--unimon:ipv4=192.168.7.2/24", "--unimon:net=service0", "--unimon:ipv4=10.0.0.2/24",
			"--unimon:ipv6=fd00::2/64", "info"}})
	r.wait(t, 0, `(?m)^iface: backend \S+ 1500 \S+ \[192\.168\.7\.2/24\]$`,
		`(?m)^iface: service0 \S+ 1500 \S+ \[10\.0\.0\.2/24 fd00::2/64\]$`, `(?m)^DONE$`)
}

// An unknown or malformed network option stops the unikernel before
// main with a message naming it.
func TestNetBadOptions(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"--unimon:ipv4=10.0.0.300/24", `--unimon:ipv4=10\.0\.0\.300/24: want an IPv4 ADDR/PREFIX`},
		{"--unimon:net=nosuch", `--unimon:net=nosuch: no attached net device "nosuch"`},
		{"--unimon:dns=x", `--unimon:dns=x: not an IP address`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			a, _ := newPipe(t)
			r := startVM(t, monitor.Config{Kernel: netGuest(t, netDev), Net: map[string]devices.Net{netDev: a}, Args: []string{tc.arg, "info"}})
			r.wait(t, 1, tc.want)
		})
	}
}
