//go:build linux && amd64

package goguests

import "testing"

// A socket's dups (net's File methods: dup) share it: a listener's dup
// accepts after the listener is closed, a connection's dup writes after
// the connection is closed, and the peer sees EOF only when the last fd
// is closed.
func TestNetDupSocket(t *testing.T) {
	noLeaks(t)
	r := sockGuest(t, nil, "--unimon:net=none", "dupsock")
	r.wait(t, 0, `(?m)^listener's dup accepts: true$`, `(?m)^peer reads through the dup: "ping" <nil>$`,
		`(?m)^no EOF while the dup is open: true$`, `(?m)^EOF once the last fd is closed: true$`, `(?m)^DONE$`)
}
