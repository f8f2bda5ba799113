//go:build linux && amd64

package goguests

import (
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/guestbuild"
	"github.com/unimon/unimon/monitor"
)

// The socket-semantics tests run ./sockguest: blocking sockets, socket
// timeouts and failed connects as Linux shows them to a program, and a
// DHCP lease kept up to date.

var sockGuestOnce = guestbuild.Once{Options: gobuild.Options{Package: "./tests/goguests/sockguest", Dir: "../..", Net: []string{netDev}}}

// sockGuest boots ./sockguest with args, its net device on a pipe the
// test ends (attach another with net).
func sockGuest(t *testing.T, net devices.Net, args ...string) *devRun {
	t.Helper()
	if net == nil {
		net, _ = newPipe(t)
	}
	return startVM(t, monitor.Config{Kernel: sockGuestOnce.Path(t, tmpDir, "sockguest.hvt"),
		Net: map[string]devices.Net{netDev: net}, Args: args})
}

// Blocking sockets made with package syscall (no O_NONBLOCK): accept and
// connect wait for each other, a write of more than the socket buffers
// hold waits for room until all of it is sent (also in 64 KiB pieces and
// through os.NewFile), and the reader gets every byte.
func TestNetBlockingSockets(t *testing.T) {
	noLeaks(t)
	r := sockGuest(t, nil, "--unimon:net=none", "blocking")
	r.wait(t, 0, `(?m)^one write: 4194304 <nil>$`, `(?m)^64 KiB writes: short 0, EAGAIN 0$`,
		`(?m)^os\.File write: 4194304 <nil>$`, `(?m)^server read: 12582912 bytes, equal true$`, `(?m)^DONE$`)
}

// SO_RCVTIMEO and SO_SNDTIMEO bound the waits of blocking sockets as on
// Linux: EAGAIN, or a partial write; a timeval out of range is EDOM.
func TestNetSocketTimeouts(t *testing.T) {
	noLeaks(t)
	r := sockGuest(t, nil, "--unimon:net=none", "timeouts")
	r.wait(t, 0, `(?m)^SO_RCVTIMEO: 0\.100000$`, `(?m)^accept timeout: EAGAIN true$`,
		`(?m)^read timeout: EAGAIN true, waited true$`, `(?m)^write timeout: partial true \(<nil>\)$`,
		`(?m)^write timeout again: EAGAIN true$`, `(?m)^bad timeval: EDOM true$`, `(?m)^DONE$`)
}

// connErrLines are what sockguest's connerr mode prints when each failed
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
