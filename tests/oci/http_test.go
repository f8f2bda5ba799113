//go:build linux && amd64

package oci

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/ocitest"
)

// TestCNIHTTP: an ordinary Go net/http server, built by unimon build and
// packed as an image, runs under containerd on a CNI bridge network and
// serves a page on the container's address to real clients on the host
// side of the bridge (curl, and Go's net/http client on a thread in that
// namespace). The runtime's default for a unimon build guest passes the
// address as --unimon:ipv4 options, which the guest's netstack takes.
// After SIGTERM nothing is left: no tap, no tc filter, no state.
func TestCNIHTTP(t *testing.T) {
	p := newCNIPod(t, "unimon-http", "10.99.8.0/24", "curl")
	ctx, cd, cni := p.ctx, p.cd, p.net

	ref := "docker.io/unimon-test/http:latest"
	if out, err := cd.Ctr(ctx, "images", "import", ocitest.Image(t, unikernel(t, "./tests/oci/httpguest", "service0"), ref)); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	task := cd.Run(ctx, t, p.rt, []string{"--with-ns", "network:" + p.pod.Path()}, ref, "http")
	task.WaitFor(t, "httpguest: listening")
	// The options were the bindings', not the program's: its arguments
	// are empty and its interface has the container's address.
	if c := task.Console.String(); !strings.Contains(c, " "+cni.Addr+"]") || !strings.Contains(c, "args []") {
		t.Errorf("console %q, want the address %s among the addresses and no arguments", c, cni.Addr)
	}

	url := "http://" + cni.IP + ":8080/page"
	want := "hello from a unikernel at " + cni.IP + ":8080\n"
	t.Run("curl", func(t *testing.T) {
		var out []byte
		var err error
		// The tap's queue comes up asynchronously: retry, do not time.
		for range 30 {
			if out, err = p.host.Command(ctx, "curl", "-sS", "--max-time", "2", url).CombinedOutput(); err == nil {
				break
			}
		}
		if err != nil || string(out) != want {
			t.Errorf("curl %s: %v: %q, want %q", url, err, out, want)
		}
	})
	t.Run("net/http", func(t *testing.T) {
		tr := &http.Transport{DialContext: p.host.DialContext}
		defer tr.CloseIdleConnections()
		for i := range 3 { // keep-alive: one connection, several requests
			resp, err := (&http.Client{Transport: tr}).Get(url)
			if err != nil {
				t.Fatalf("GET %d: %v", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || string(body) != want {
				t.Errorf("GET %d: %s %q (%v), want 200 %q", i, resp.Status, body, err, want)
			}
		}
	})

	if got := exitCode(task.Kill(ctx, t, "SIGTERM")); got != 128+15 {
		t.Errorf("exit status %d after SIGTERM, want %d; console:\n%s", got, 128+15, task.Console.String())
	}
	ocitest.CheckUnplugged(t, p.pod)
	checkRootEmpty(t, filepath.Join("/run/containerd/runc", cd.Namespace))
}
