package netstack

import (
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// ARP announcements (RFC 5227 2.3): when a device gets an IPv4 address
// (an option, a DHCP lease, a new lease after a NAK) it broadcasts ARP
// requests whose sender and target are that address, as Linux does, so
// that neighbours that had a stale or FAILED entry for it (a DHCP server
// pings an address before it offers it, and its kernel marks the entry
// FAILED) reach the unikernel at once instead of after their entry
// expires. gVisor's arp package probes addresses (duplicate address
// detection) but does not announce them; gopacket builds the ARP
// message and netstack adds the Ethernet header.

// announceNum and announceInterval are RFC 5227's ANNOUNCE_NUM and
// ANNOUNCE_INTERVAL.
const (
	announceNum      = 2
	announceInterval = 2 * time.Second
)

// announce announces device d's address a now and announceNum-1 times
// more, announceInterval apart, while d still has it.
func announce(d *device, a netip.Addr) {
	if !a.Is4() {
		return
	}
	msg := announcement(d.mac, a)
	for i := 0; i < announceNum; i++ {
		time.AfterFunc(time.Duration(i)*announceInterval, func() {
			if cur, err := theStack.GetMainNICAddress(d.nic, ipv4.ProtocolNumber); err != nil || cur.Address != tcpipAddr(a) {
				return // the address went (a lease ended) before this one
			}
			// A failed send is no worse than no announcement: the
			// neighbours learn the address at the next exchange.
			theStack.WritePacketToRemote(d.nic, header.EthernetBroadcastAddress, header.ARPProtocolNumber, buffer.MakeWithData(msg))
		})
	}
}

// announcement is the ARP request announcing that mac has address a.
func announcement(mac [6]byte, a netip.Addr) []byte {
	ip := net.IP(a.AsSlice())
	arp := &layers.ARP{
		AddrType:          layers.LinkTypeEthernet,
		Protocol:          layers.EthernetTypeIPv4,
		HwAddressSize:     6,
		ProtAddressSize:   4,
		Operation:         layers.ARPRequest,
		SourceHwAddress:   mac[:],
		SourceProtAddress: ip,
		DstHwAddress:      make([]byte, 6), // unknown: zero, as RFC 5227 says
		DstProtAddress:    ip,
	}
	buf := gopacket.NewSerializeBuffer()
	if err := arp.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
		return nil // cannot happen: every field has its size
	}
	return buf.Bytes()
}
