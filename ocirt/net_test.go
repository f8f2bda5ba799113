package ocirt

import (
	"net"
	"slices"
	"testing"

	"github.com/unimon/unimon/ociimage"
)

func TestGuestArgs(t *testing.T) {
	_, ipnet, _ := net.ParseCIDR("10.0.0.0/24")
	ipnet.IP = net.IPv4(10, 0, 0, 5).To4()
	cases := []struct {
		style string
		gw    net.IP
		addr  *net.IPNet
		want  []string
	}{
		{ociimage.NetArgsGo, net.IPv4(10, 0, 0, 1), ipnet, []string{"--unimon:ipv4=10.0.0.5/24", "--unimon:ipv4-gateway=10.0.0.1"}},
		{ociimage.NetArgsMirage, net.IPv4(10, 0, 0, 1), ipnet, []string{"--ipv4=10.0.0.5/24", "--ipv4-gateway=10.0.0.1"}},
		{ociimage.NetArgsMirage, nil, ipnet, []string{"--ipv4=10.0.0.5/24"}},
		{ociimage.NetArgsNone, net.IPv4(10, 0, 0, 1), ipnet, nil},
		{ociimage.NetArgsGo, nil, nil, nil},
	}
	for _, tc := range cases {
		np := &netPlan{addr: tc.addr, gateway: tc.gw}
		if got := np.guestArgs(tc.style); !slices.Equal(got, tc.want) {
			t.Errorf("%s gw %v addr %v: %q, want %q", tc.style, tc.gw, tc.addr, got, tc.want)
		}
	}
}
