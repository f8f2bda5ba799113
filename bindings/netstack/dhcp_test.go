package netstack

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// An ACK's lease: its times with RFC 2131's defaults for T1 and T2 and
// their order enforced, its address, router and server.
func TestLeaseOf(t *testing.T) {
	secs := func(o layers.DHCPOpt, s uint32) layers.DHCPOption {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], s)
		return layers.NewDHCPOption(o, b[:])
	}
	for _, tc := range []struct {
		name         string
		opts         []layers.DHCPOption
		life, t1, t2 time.Duration
	}{
		{"no lease time: for ever", nil, 0, 0, 0},
		{"infinite", []layers.DHCPOption{secs(layers.DHCPOptLeaseTime, 0xffffffff)}, 0, 0, 0},
		{"defaults", []layers.DHCPOption{secs(layers.DHCPOptLeaseTime, 3600)}, time.Hour, 30 * time.Minute, 3150 * time.Second},
		{"server's T1 and T2", []layers.DHCPOption{secs(layers.DHCPOptLeaseTime, 120), secs(layers.DHCPOptT1, 3), secs(layers.DHCPOptT2, 4)},
			2 * time.Minute, 3 * time.Second, 4 * time.Second},
		{"T2 after the end", []layers.DHCPOption{secs(layers.DHCPOptLeaseTime, 120), secs(layers.DHCPOptT2, 200)},
			2 * time.Minute, time.Minute, 105 * time.Second},
		{"T1 after T2", []layers.DHCPOption{secs(layers.DHCPOptLeaseTime, 120), secs(layers.DHCPOptT1, 100), secs(layers.DHCPOptT2, 10)},
			2 * time.Minute, 10 * time.Second, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ack := &layers.DHCPv4{YourClientIP: net.IPv4(10, 0, 0, 7), Options: append([]layers.DHCPOption{
				layers.NewDHCPOption(layers.DHCPOptSubnetMask, []byte{255, 255, 0, 0}),
				layers.NewDHCPOption(layers.DHCPOptRouter, []byte{10, 0, 0, 1}),
				layers.NewDHCPOption(layers.DHCPOptServerID, []byte{10, 0, 0, 2}),
			}, tc.opts...)}
			start := time.Unix(1000, 0)
			l, err := leaseOf(ack, start)
			if err != nil {
				t.Fatal(err)
			}
			if l.life != tc.life || l.t1 != tc.t1 || l.t2 != tc.t2 {
				t.Errorf("life, T1, T2 = %v, %v, %v; want %v, %v, %v", l.life, l.t1, l.t2, tc.life, tc.t1, tc.t2)
			}
			if l.addr != netip.MustParsePrefix("10.0.0.7/16") || l.router != netip.MustParseAddr("10.0.0.1") ||
				l.server != netip.MustParseAddr("10.0.0.2") || !l.start.Equal(start) {
				t.Errorf("lease %+v", l)
			}
		})
	}
	if _, err := leaseOf(&layers.DHCPv4{YourClientIP: net.IPv4zero}, time.Now()); err == nil {
		t.Error("an ACK without an address gave a lease")
	}
}

// A lease's DNS servers and domain name: a domain that is not a DNS name
// (it would go into resolv.conf as it is) is ignored, a trailing NUL
// some servers send is not part of it.
func TestLeaseDNS(t *testing.T) {
	for _, tc := range []struct{ domain, want string }{
		{"example.test", "example.test"},
		{"corp.example.test\x00", "corp.example.test"},
		{"two words", ""},
		{"evil\nnameserver 6.6.6.6", ""},
		{strings.Repeat("a", 254), ""},
		{"", ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			ack := &layers.DHCPv4{YourClientIP: net.IPv4(10, 0, 0, 7), Options: []layers.DHCPOption{
				layers.NewDHCPOption(layers.DHCPOptDNS, []byte{10, 0, 0, 53, 10, 0, 0, 54, 10}),
				layers.NewDHCPOption(layers.DHCPOptDomainName, []byte(tc.domain)),
			}}
			l, err := leaseOf(ack, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if l.domain != tc.want || !slices.Equal(l.dns, []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("10.0.0.54")}) {
				t.Errorf("domain %q, DNS %v; want %q, [10.0.0.53 10.0.0.54]", l.domain, l.dns, tc.want)
			}
		})
	}
}
