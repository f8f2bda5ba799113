package netnstest

import (
	"context"
	"net"
)

// DialContext connects from inside the namespace; the connection may
// then be used from any goroutine. Its signature is http.Transport's
// DialContext, so a real HTTP client can live in the namespace.
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
