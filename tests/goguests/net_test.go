//go:build linux && amd64

package goguests

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/monitor"
)

// The networking tests that need a tap: ./netguest on a tap in a private
// namespace reached by real clients (Go's net/http client on a thread in
// the namespace, curl) and as a client of servers in the namespace
// (dnsmasq for DHCP and DNS); examples/webapp. The ARM64 lane's VM has no
// iproute2, so these run on amd64 only (net_pipe_test.go has the rest).

// netBuild is one guest built once per test binary.
type netBuild struct {
	once sync.Once
	path string
	err  error
}

// tapNS is a namespace with tap0 at 10.213.N.1/24 and the unikernel's
// net device attached to it.
type tapNS struct {
	ns  *netnstest.NS
	tap *devices.Tap
	net string // "10.213.N."
}

func newTapNS(t testing.TB, n int) *tapNS {
	t.Helper()
	ns := netnstest.New(t)
	pre := fmt.Sprintf("10.213.%d.", n)
	ns.AddTap("tap0", pre+"1/24", 0)
	return &tapNS{ns: ns, tap: openTap(t, ns, "tap0"), net: pre}
}

// dial connects from inside the namespace.
func (n *tapNS) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.ns.DialContext(ctx, network, addr)
}

// listen listens inside the namespace.
func (n *tapNS) listen(network, addr string) net.Listener {
	var l net.Listener
	if err := n.ns.Do(func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	}); err != nil {
		panic(err)
	}
	return l
}

func (n *tapNS) client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         n.dial,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}}
}

// A Go unikernel serving net/http on a tap, hit from the namespace.
func TestNetServeOnTap(t *testing.T) {
	noLeaks(t)
	n := newTapNS(t, 1)
	g := netGuest(t, netDev)
	r := startVM(t, monitor.Config{Kernel: g, Net: map[string]devices.Net{netDev: n.tap},
		Args: []string{"--unimon:ipv4=" + n.net + "2/24", "serve", ":8080"}})
	if !r.waitLine(t, "listening on") {
		return
	}
	base := "http://" + n.net + "2:8080"
	c := n.client(100)
	defer c.CloseIdleConnections()

	t.Run("GET", func(t *testing.T) {
		b := httpDo(t, c, "GET", base+"/", nil)
		if want := strings.Repeat("unimon serves this page. ", 400); string(b) != want {
			t.Errorf("page: %d bytes, want %d", len(b), len(want))
		}
	})
	t.Run("POST 1MiB", func(t *testing.T) {
		body := make([]byte, 1<<20)
		rand.Read(body)
		if b := httpDo(t, c, "POST", base+"/echo", body); !bytes.Equal(b, body) {
			t.Errorf("echo: %d bytes back, not the %d sent", len(b), len(body))
		}
	})
	t.Run("100 connections", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 5; j++ {
					resp, err := c.Get(base + "/")
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("slow client", func(t *testing.T) {
		conn, err := n.dial(context.Background(), "tcp", n.net+"2:8080")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, b := range []byte("GET /big?n=16 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") {
			if _, err := conn.Write([]byte{b}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		total := 0
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			total += k
			if err != nil {
				break
			}
			if total < 256<<10 {
				time.Sleep(2 * time.Millisecond) // let the guest's window fill
			}
		}
		if total < 16*64<<10 {
			t.Errorf("slow client read %d bytes, want the whole 1 MiB body", total)
		}
	})
	t.Run("disconnect mid-response", func(t *testing.T) {
		conn, err := n.dial(context.Background(), "tcp", n.net+"2:8080")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /big?n=400 HTTP/1.1\r\nHost: x\r\n\r\n")
		io.ReadFull(conn, make([]byte, 100<<10))
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
		if b := httpDo(t, c, "GET", base+"/", nil); len(b) == 0 {
			t.Error("no page after a client went away")
		}
	})
	t.Run("ping", func(t *testing.T) {
		out, err := n.ns.Command(context.Background(), "ping", "-c", "2", "-W", "10", n.net+"2").CombinedOutput()
		if err != nil {
			t.Errorf("ping: %v\n%s", err, out)
		}
	})
	t.Run("curl", func(t *testing.T) {
		out, err := n.ns.Command(context.Background(), "curl", "-sS", "--max-time", "20", "-d", "from curl", base+"/echo").CombinedOutput()
		if err != nil || string(out) != "from curl" {
			t.Errorf("curl: %v: %q", err, out)
		}
	})
	httpDo(t, c, "GET", base+"/quit", nil)
	r.wait(t, 0, `(?m)^DONE$`)
}

func httpDo(t *testing.T, c *http.Client, method, url string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	return b
}

// dnsmasq runs dnsmasq in the namespace on tap0 as the DHCP server
// (addresses .50-.60) and DNS server (unimon.test is .1) until the end
// of the test.
func (n *tapNS) dnsmasq(t *testing.T) {
	t.Helper()
	log, _ := n.startDnsmasq(t, 50, 60, "1h", "--address=/unimon.test/"+n.net+"1")
	// Wait until it answers on port 53.
	for i := 0; i < 200; i++ {
		c, err := n.dial(context.Background(), "tcp", n.net+"1:53")
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("dnsmasq did not start:\n%s", log.buf.String())
}

// The unikernel as a client: its address, router and DNS server from
// dnsmasq's DHCP, a name resolved through dnsmasq, an HTTP GET of a
// server in the namespace, UDP both ways, and failures as on Linux.
func TestNetClient(t *testing.T) {
	noLeaks(t)
	n := newTapNS(t, 2)
	n.dnsmasq(t)

	page := strings.Repeat("from the namespace\n", 1000)
	ln := n.listen("tcp", n.net+"1:8000")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })}
	go srv.Serve(ln)
	defer srv.Close()

	// A server that resets every connection (SO_LINGER 0).
	rl := n.listen("tcp", n.net+"1:8001")
	defer rl.Close()
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0)
			time.Sleep(50 * time.Millisecond)
			c.Close()
		}
	}()

	var pc net.PacketConn
	if err := n.ns.Do(func() (err error) { pc, err = net.ListenPacket("udp", n.net+"1:9999"); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		k, from, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(append([]byte("echo: "), buf[:k]...), from)
		}
	}()

	r := startVM(t, monitor.Config{Kernel: netGuest(t, netDev), Net: map[string]devices.Net{netDev: n.tap},
		Args: []string{"info", "dns", "unimon.test", "get", "http://unimon.test:8000/", "udpsend", n.net + "1:9999",
			"errors", n.net + "1:1", n.net + "1:8001", "udp", ":7777"}})
	if !r.waitLine(t, "udp listening on") {
		return
	}
	// The guest's address is the one dnsmasq leased; send it a datagram.
	m := regexp.MustCompile(`iface: service0 \S+ \d+ \S+ \[(10\.213\.2\.\d+)/24\]`).FindStringSubmatch(r.console())
	if m == nil {
		t.Fatalf("no DHCP address in the console:\n%s", r.console())
	}
	var uc net.Conn
	if err := n.ns.Do(func() (err error) { uc, err = net.Dial("udp", m[1]+":7777"); return err }); err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.Write([]byte("olleh"))
	uc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 100)
	k, err := uc.Read(buf)
	if err != nil || string(buf[:k]) != "hello" {
		t.Errorf("UDP to the guest: %q, %v", buf[:k], err)
	}
	r.wait(t, 0,
		`(?m)^resolv\.conf: ".*nameserver 10\.213\.2\.1\\n"$`,
		`(?m)^dns: unimon\.test 10\.213\.2\.1$`,
		fmt.Sprintf(`(?m)^get: 200 %d [0-9a-f]{64}$`, len(page)),
		`(?m)^udp answer: echo: ping from unikernel$`,
		`(?m)^refused: true$`, `(?m)^reset: true`, `(?m)^inuse: true$`, `(?m)^deadline: true$`, `(?m)^refused local: true$`,
		`(?m)^DONE$`)
}

var webappOnce netBuild

// webapp builds examples/webapp once, with the net device service0.
func webapp(t testing.TB) {
	t.Helper()
	webappOnce.once.Do(func() {
		webappOnce.path = filepath.Join(tmpDir, "webapp.hvt")
		var log bytes.Buffer
		_, webappOnce.err = gobuild.Build(context.Background(), gobuild.Options{
			Package: "./examples/webapp", Output: webappOnce.path, Dir: "../..", Stderr: &log, Net: []string{netDev},
		})
		if webappOnce.err != nil {
			webappOnce.err = fmt.Errorf("%w\n%s", webappOnce.err, log.String())
		}
	})
	if webappOnce.err != nil {
		t.Fatal(webappOnce.err)
	}
}

// The example web application on a tap: the game's page and script from
// its embed.FS, the JSON API, curl as the client; it exits after the
// requests it was told to serve.
func TestWebapp(t *testing.T) {
	noLeaks(t)
	webapp(t)
	n := newTapNS(t, 3)
	r := startVM(t, monitor.Config{Kernel: webappOnce.path, Net: map[string]devices.Net{netDev: n.tap},
		Args: []string{"--unimon:ipv4=" + n.net + "2/24", "--unimon:hostname=game", "-max-requests", "5"}})
	if !r.waitLine(t, "webapp: serving 2048") {
		return
	}
	base := "http://" + n.net + "2:8080/"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{base}, "<title>2048 on a Go unikernel</title>"},
		{[]string{base + "game.js"}, "function slide(line)"},
		{[]string{"-d", `{"name":"ada","score":2048}`, base + "api/scores"}, `"name":"ada","score":2048`},
		{[]string{base + "api/scores"}, `"score":2048`},
		{[]string{base + "api/info"}, `"hostname":"game"`},
	} {
		out, err := n.ns.Command(context.Background(), "curl", append([]string{"-sS", "--max-time", "20"}, tc.args...)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("curl %q: %v: %.200q, want %q", tc.args, err, out, tc.want)
		}
	}
	r.wait(t, 0)
}
