package netstack

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// An announcement is an ARP request whose sender and target address are
// the announced one, from the device's MAC, to no known MAC (RFC 5227 2.3).
func TestAnnouncement(t *testing.T) {
	mac := [6]byte{0x02, 0, 0, 0, 0, 0x42}
	for _, a := range []string{"10.213.3.2", "192.168.7.254"} {
		t.Run(a, func(t *testing.T) {
			var arp layers.ARP
			if err := arp.DecodeFromBytes(announcement(mac, netip.MustParseAddr(a)), gopacket.NilDecodeFeedback); err != nil {
				t.Fatal(err)
			}
			ip := net.ParseIP(a).To4()
			if arp.Operation != layers.ARPRequest || arp.AddrType != layers.LinkTypeEthernet || arp.Protocol != layers.EthernetTypeIPv4 ||
				!bytes.Equal(arp.SourceHwAddress, mac[:]) || !bytes.Equal(arp.DstHwAddress, make([]byte, 6)) ||
				!bytes.Equal(arp.SourceProtAddress, ip) || !bytes.Equal(arp.DstProtAddress, ip) {
				t.Errorf("announcement of %s: %+v", a, arp)
			}
		})
	}
}
