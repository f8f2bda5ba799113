//go:build !linux

package tcplisten

import (
	"net"
	"net/netip"
)

// Listen is net.ListenTCP("tcp", ap) where the CLI cannot run a guest
// anyway: only Linux pays for net's socket code at every start.
func Listen(ap netip.AddrPort) (net.Listener, error) {
	return net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
}
