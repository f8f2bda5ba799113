package netstack

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// DHCPv4 (RFC 2131): DISCOVER, OFFER, REQUEST, ACK, once, before main,
// with the messages encoded and decoded by gopacket's DHCPv4 layer and
// sent through netstack from 0.0.0.0 to the broadcast address. The lease
// is not renewed (see the README): a unikernel that outlives its lease
// keeps the address, as if the server had granted it for good.

// dhcpTimeout bounds the whole exchange; dhcpRetry is the wait for each
// answer before the request is sent again.
const (
	dhcpTimeout = 10 * time.Second
	dhcpRetry   = 2 * time.Second
)

// lease is what the server granted.
type lease struct {
	addr   netip.Prefix
	router netip.Addr
	dns    []netip.Addr
}

var errNoAnswer = errors.New("no DHCP server answered")

func dhcp(s *stack.Stack, d *device) (*lease, error) {
	// The client talks from 0.0.0.0 until it has an address: give the
	// NIC the any address and a route to the broadcast address for that
	// time.
	any := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: header.IPv4Any, PrefixLen: 0}}
	if err := s.AddProtocolAddress(d.nic, any, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	defer s.RemoveAddress(d.nic, header.IPv4Any)
	bcast := route(netip.MustParsePrefix("255.255.255.255/32"), netip.Addr{}, d.nic)
	s.AddRoute(bcast)
	defer s.RemoveRoutes(func(r tcpip.Route) bool { return r == bcast })

	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, fmt.Errorf("%v", terr)
	}
	ep.SocketOptions().SetBroadcast(true)
	ep.SocketOptions().SetBindToDevice(int32(d.nic))
	if err := ep.Bind(tcpip.FullAddress{NIC: d.nic, Port: 68}); err != nil {
		ep.Close()
		return nil, fmt.Errorf("bind port 68: %v", err)
	}
	c := gonet.NewUDPConn(&wq, ep)
	defer c.Close()

	var xid [4]byte
	rand.Read(xid[:])
	mac := net.HardwareAddr(d.mac[:])
	server := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	deadline := time.Now().Add(dhcpTimeout)

	// exchange sends msg until an answer of type want with our xid comes.
	exchange := func(msg *layers.DHCPv4, want layers.DHCPMsgType) (*layers.DHCPv4, error) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, msg); err != nil {
			return nil, err
		}
		rb := make([]byte, 1500)
		for time.Now().Before(deadline) {
			if _, err := c.WriteTo(buf.Bytes(), server); err != nil {
				return nil, err
			}
			c.SetReadDeadline(minTime(time.Now().Add(dhcpRetry), deadline))
			for {
				n, _, err := c.ReadFrom(rb)
				if err != nil {
					break // timeout: send again
				}
				var ans layers.DHCPv4
				if ans.DecodeFromBytes(rb[:n], gopacket.NilDecodeFeedback) != nil || ans.Xid != binary.BigEndian.Uint32(xid[:]) || ans.Operation != layers.DHCPOpReply {
					continue
				}
				switch msgType(&ans) {
				case want:
					return &ans, nil
				case layers.DHCPMsgTypeNak:
					return nil, errors.New("the server refused (NAK)")
				}
			}
		}
		return nil, errNoAnswer
	}
	request := func(t layers.DHCPMsgType, opts ...layers.DHCPOption) *layers.DHCPv4 {
		return &layers.DHCPv4{
			Operation:    layers.DHCPOpRequest,
			HardwareType: layers.LinkTypeEthernet,
			HardwareLen:  6,
			Xid:          binary.BigEndian.Uint32(xid[:]),
			Flags:        0x8000, // answer by broadcast: we cannot take unicast yet
			ClientHWAddr: mac,
			Options: append([]layers.DHCPOption{
				layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(t)}),
				layers.NewDHCPOption(layers.DHCPOptParamsRequest, []byte{byte(layers.DHCPOptSubnetMask), byte(layers.DHCPOptRouter), byte(layers.DHCPOptDNS)}),
			}, append(opts, layers.NewDHCPOption(layers.DHCPOptEnd, nil))...),
		}
	}
	offer, err := exchange(request(layers.DHCPMsgTypeDiscover), layers.DHCPMsgTypeOffer)
	if err != nil {
		return nil, fmt.Errorf("DISCOVER: %w", err)
	}
	sid := option(offer, layers.DHCPOptServerID)
	ack, err := exchange(request(layers.DHCPMsgTypeRequest,
		layers.NewDHCPOption(layers.DHCPOptRequestIP, offer.YourClientIP.To4()),
		layers.NewDHCPOption(layers.DHCPOptServerID, sid)), layers.DHCPMsgTypeAck)
	if err != nil {
		return nil, fmt.Errorf("REQUEST: %w", err)
	}
	addr, ok := netip.AddrFromSlice(ack.YourClientIP.To4())
	if !ok || addr.IsUnspecified() {
		return nil, errors.New("the ACK has no address")
	}
	bits := 24
	if m := option(ack, layers.DHCPOptSubnetMask); len(m) == 4 {
		bits, _ = net.IPMask(m).Size()
	}
	l := &lease{addr: netip.PrefixFrom(addr, bits)}
	if r := option(ack, layers.DHCPOptRouter); len(r) >= 4 {
		l.router = netip.AddrFrom4([4]byte(r[:4]))
	}
	dns := option(ack, layers.DHCPOptDNS)
	for len(dns) >= 4 {
		l.dns = append(l.dns, netip.AddrFrom4([4]byte(dns[:4])))
		dns = dns[4:]
	}
	return l, nil
}

func msgType(m *layers.DHCPv4) layers.DHCPMsgType {
	if v := option(m, layers.DHCPOptMessageType); len(v) == 1 {
		return layers.DHCPMsgType(v[0])
	}
	return layers.DHCPMsgTypeUnspecified
}

func option(m *layers.DHCPv4, t layers.DHCPOpt) []byte {
	for _, o := range m.Options {
		if o.Type == t {
			return o.Data
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
