//go:build linux && (amd64 || arm64)

package goguests

import "testing"

// Named unix-domain stream sockets inside the unikernel, no network
// device needed: the guest's unixsock mode serves net/http on a path in
// /tmp and on an abstract name and GETs from it, and checks the names
// and the errors (each as Linux gives it: the mode runs on Linux alike).
func TestUnixSockets(t *testing.T) {
	r := runGuest(t, guestMem, "unixsock")
	r.want(t, 0,
		`(?m)^unixsock: GET over /tmp/unixsock[0-9]+/http.sock ok$`,
		`(?m)^unixsock: GET over @unimon-unixsock-test ok$`,
		`(?m)^unixsock: the node is a socket ok$`,
		`(?m)^unixsock: connect to a missing path is ENOENT ok$`,
		`(?m)^unixsock: bind to a bound path is EADDRINUSE ok$`,
		`(?m)^unixsock: done$`)
}
