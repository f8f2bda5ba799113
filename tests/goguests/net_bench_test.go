//go:build linux && amd64

package goguests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/monitor"
)

// The networking benchmarks measure the same program (./netguest serve)
// side by side in one run: as a unikernel on a tap, and as a Linux
// process in a second namespace reached over a veth, both from the same
// Go load generator in the first namespace. They ignore b.N (the
// Makefile's iteration count is sized for micro-guests): each figure is
// one fixed-length measurement, reported as metrics.

const loadTime = 2 * time.Second

// benchNet is the two servers: the unikernel at uk, the Linux process
// at linux, both reached from ns.
type benchNet struct {
	*tapNS
	uk, linux string
}

func newBenchNet(b *testing.B) *benchNet {
	b.Helper()
	n := newTapNS(b, 9)
	r := startVM(b, monitor.Config{Kernel: netGuest(b, netDev), Memory: 512 << 20, Net: map[string]devices.Net{netDev: n.tap},
		Args: []string{"--unimon:ipv4=" + n.net + "2/24", "serve", ":8080"}})
	if !r.waitLine(b, "listening on") {
		b.FailNow()
	}

	native := filepath.Join(b.TempDir(), "netguest")
	if out, err := exec.Command("go", "build", "-o", native, "./netguest").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	ns2 := netnstest.New(b)
	n.ns.IP("link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", ns2.Name())
	n.ns.IP("addr", "add", "10.214.0.1/24", "dev", "veth0")
	n.ns.IP("link", "set", "veth0", "up")
	ns2.IP("addr", "add", "10.214.0.2/24", "dev", "veth1")
	ns2.IP("link", "set", "veth1", "up")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := ns2.Command(ctx, native, "serve", ":8080")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := n.dial(context.Background(), "tcp", "10.214.0.2:8080"); err == nil {
			c.Close()
			break
		}
		if i == 500 {
			b.Fatalf("the Linux server did not start: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &benchNet{tapNS: n, uk: n.net + "2:8080", linux: "10.214.0.2:8080"}
}

// load runs conns keep-alive clients against url for loadTime and
// returns requests per second and the 99th percentile latency.
func (n *benchNet) load(b *testing.B, url string, conns int) (float64, time.Duration) {
	c := n.client(conns)
	defer c.CloseIdleConnections()
	end := time.Now().Add(loadTime)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				resp, err := c.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatal("no request completed")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(len(lat)) / loadTime.Seconds(), lat[len(lat)*99/100]
}

// BenchmarkNetHTTP: requests/s and p99 latency of a 10 kB page with 1,
// 16 and 64 keep-alive connections, unikernel and Linux process.
func BenchmarkNetHTTP(b *testing.B) {
	n := newBenchNet(b)
	for _, conns := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(conns), func(b *testing.B) {
			ukRate, ukP99 := n.load(b, "http://"+n.uk+"/", conns)
			lxRate, lxP99 := n.load(b, "http://"+n.linux+"/", conns)
			b.ReportMetric(ukRate, "uk-req/s")
			b.ReportMetric(lxRate, "linux-req/s")
			b.ReportMetric(ukRate/lxRate, "uk/linux")
			b.ReportMetric(float64(ukP99.Microseconds())/1000, "uk-p99-ms")
			b.ReportMetric(float64(lxP99.Microseconds())/1000, "linux-p99-ms")
		})
	}
}

// BenchmarkNetBulk: TCP throughput of one connection, server to client
// (a 16 MiB response) and client to server (a 16 MiB upload), unikernel
// and Linux process.
func BenchmarkNetBulk(b *testing.B) {
	n := newBenchNet(b)
	const size = 16 << 20
	c := n.client(1)
	defer c.CloseIdleConnections()
	mbps := func(addr string, up bool) float64 {
		t0 := time.Now()
		var resp *http.Response
		var err error
		if up {
			resp, err = c.Post("http://"+addr+"/discard", "application/octet-stream", io.LimitReader(zeros{}, size))
		} else {
			resp, err = c.Get("http://" + addr + "/big?n=256")
		}
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if !up && got != size {
			b.Fatalf("got %d bytes, want %d", got, size)
		}
		return size / time.Since(t0).Seconds() / 1e6
	}
	ukDown, lxDown := mbps(n.uk, false), mbps(n.linux, false)
	ukUp, lxUp := mbps(n.uk, true), mbps(n.linux, true)
	b.ReportMetric(ukDown, "uk-to-host-MB/s")
	b.ReportMetric(lxDown, "linux-to-host-MB/s")
	b.ReportMetric(ukUp, "host-to-uk-MB/s")
	b.ReportMetric(lxUp, "host-to-linux-MB/s")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// BenchmarkWebappPages: guest pages examples/webapp has touched when idle
// (after one request) and after 10,000 requests.
func BenchmarkWebappPages(b *testing.B) {
	webapp(b)
	for _, reqs := range []int{1, 10000} {
		n := newTapNS(b, 10+reqs%7)
		r := startVM(b, monitor.Config{Kernel: webappOnce.path, Net: map[string]devices.Net{netDev: n.tap},
			Args: []string{"--unimon:stats", "--unimon:ipv4=" + n.net + "2/24", "-max-requests", fmt.Sprint(reqs)}})
		if !r.waitLine(b, "webapp: serving") {
			b.FailNow()
		}
		c := n.client(16)
		var wg sync.WaitGroup
		per := (reqs + 15) / 16
		for i := 0; i < 16 && i*per < reqs; i++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				for j := 0; j < k; j++ {
					resp, err := c.Get("http://" + n.net + "2:8080/api/scores")
					if err != nil {
						return // the app exits after the last one
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}(min(per, reqs-i*per))
		}
		wg.Wait()
		c.CloseIdleConnections()
		<-r.done
		console := r.console()
		if !strings.Contains(console, "pages_touched=") {
			b.Fatalf("no stats:\n%s", console)
		}
		b.ReportMetric(stat(b, console, "pages_touched"), fmt.Sprintf("pages@%d-req", reqs))
	}
}
