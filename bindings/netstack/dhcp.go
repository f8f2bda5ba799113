package netstack

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
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

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// DHCPv4 (RFC 2131): DISCOVER, OFFER, REQUEST, ACK before main, with the
// messages encoded and decoded by gopacket's DHCPv4 layer and sent
// through netstack (from 0.0.0.0 to the broadcast address until the
// device has an address). Then a goroutine keeps the lease: at T1 it
// asks the server that granted it to extend it (RENEWING, unicast), at
// T2 any server (REBINDING, broadcast); a NAK, or the end of the lease
// with no answer, takes the address away, and the client starts over
// (INIT), as RFC 2131's state diagram says. A first exchange nobody
// answers does not stop the client either: the program starts without
// an address (after dhcpTimeout, as it would with dhclient's timeout)
// while the client keeps asking in the background, waiting longer after
// each failed attempt (RFC 2131 4.1's 4, 8, ... 64 s, randomised by a
// second), as systemd-networkd does, and configures the device when a
// lease comes.

// dhcpTimeout bounds the first exchange; dhcpRetry is the wait for each
// answer before the request is sent again; dhcpMinRetry is the least
// wait between the retransmissions of a renewal (RFC 2131 4.4.5: half
// the time left, down to a minute).
const (
	dhcpTimeout  = 10 * time.Second
	dhcpRetry    = 2 * time.Second
	dhcpMinRetry = 60 * time.Second

	dhcpBackoffMin = 4 * time.Second
	dhcpBackoffMax = 64 * time.Second
)

// lease is what the server granted, and when.
type lease struct {
	addr   netip.Prefix
	router netip.Addr
	dns    []netip.Addr
	domain string     // the domain name (option 15), a search domain
	server netip.Addr // the server identifier: where renewals go

	start        time.Time     // when the REQUEST that got it was sent
	t1, t2, life time.Duration // renew, rebind, end; life 0: for ever
}

var (
	errNoAnswer = errors.New("no DHCP server answered")
	errNAK      = errors.New("the server refused (NAK)")
)

// dhcpClient is the DHCPv4 client of one device: a UDP endpoint on port
// 68 of its NIC for the device's lifetime.
type dhcpClient struct {
	s   *stack.Stack
	d   *device
	c   *gonet.UDPConn
	mac net.HardwareAddr
	rb  []byte
}

// newDHCPClient opens the client's endpoint, and a route to the
// broadcast address on the device (for DISCOVER and REBINDING).
func newDHCPClient(s *stack.Stack, d *device) (*dhcpClient, error) {
	s.AddRoute(route(netip.MustParsePrefix("255.255.255.255/32"), netip.Addr{}, d.nic))
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
	return &dhcpClient{s: s, d: d, c: gonet.NewUDPConn(&wq, ep), mac: net.HardwareAddr(d.mac[:]), rb: make([]byte, 1500)}, nil
}

// startDHCP configures device d by DHCPv4; it returns the function that
// keeps the lease (or, if the first exchange failed, keeps asking for
// one), for a goroutine once the stack is set up, and why the first
// exchange failed.
func startDHCP(s *stack.Stack, d *device) (keep func(), err error) {
	cl, err := newDHCPClient(s, d)
	if err != nil {
		return nil, err
	}
	l, err := cl.acquire()
	if err != nil {
		return func() { cl.keep(nil) }, err
	}
	cl.configure(nil, l)
	return func() { cl.keep(l) }, nil
}

// acquire gets a new lease (INIT: DISCOVER, OFFER, REQUEST, ACK) within
// dhcpTimeout. The client talks from 0.0.0.0 until it has an address:
// the NIC has the any address for that time.
func (cl *dhcpClient) acquire() (*lease, error) {
	any := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: header.IPv4Any, PrefixLen: 0}}
	if err := cl.s.AddProtocolAddress(cl.d.nic, any, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	defer cl.s.RemoveAddress(cl.d.nic, header.IPv4Any)
	deadline := time.Now().Add(dhcpTimeout)
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	xid := newXID()
	offer, err := cl.exchange(cl.message(layers.DHCPMsgTypeDiscover, xid, nil), layers.DHCPMsgTypeOffer, bcast, deadline, dhcpRetry)
	if err != nil {
		return nil, fmt.Errorf("DISCOVER: %w", err)
	}
	start := time.Now()
	ack, err := cl.exchange(cl.message(layers.DHCPMsgTypeRequest, xid, nil,
		layers.NewDHCPOption(layers.DHCPOptRequestIP, offer.YourClientIP.To4()),
		layers.NewDHCPOption(layers.DHCPOptServerID, option(offer, layers.DHCPOptServerID))),
		layers.DHCPMsgTypeAck, bcast, deadline, dhcpRetry)
	if err != nil {
		return nil, fmt.Errorf("REQUEST: %w", err)
	}
	return leaseOf(ack, start)
}

// extend asks to extend lease l (RENEWING: to its server; REBINDING:
// to any server) until the deadline, retransmitting as RFC 2131 4.4.5
// says.
func (cl *dhcpClient) extend(l *lease, rebinding bool, deadline time.Time) (*lease, error) {
	to := &net.UDPAddr{IP: net.IP(l.server.AsSlice()), Port: 67}
	if rebinding || !l.server.IsValid() {
		to = &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	}
	start := time.Now()
	retry := max(time.Until(deadline)/2, dhcpMinRetry)
	ack, err := cl.exchange(cl.message(layers.DHCPMsgTypeRequest, newXID(), l.addr.Addr().AsSlice()), layers.DHCPMsgTypeAck, to, deadline, retry)
	if err != nil {
		return nil, err
	}
	return leaseOf(ack, start)
}

// message is a client message of type t: ciaddr is the address of a
// lease being extended (then the server answers by unicast), else the
// server is asked to broadcast its answer.
func (cl *dhcpClient) message(t layers.DHCPMsgType, xid uint32, ciaddr net.IP, opts ...layers.DHCPOption) *layers.DHCPv4 {
	m := &layers.DHCPv4{
		Operation:    layers.DHCPOpRequest,
		HardwareType: layers.LinkTypeEthernet,
		HardwareLen:  6,
		Xid:          xid,
		ClientHWAddr: cl.mac,
		Options: append([]layers.DHCPOption{
			layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(t)}),
			layers.NewDHCPOption(layers.DHCPOptParamsRequest, []byte{byte(layers.DHCPOptSubnetMask), byte(layers.DHCPOptRouter), byte(layers.DHCPOptDNS), byte(layers.DHCPOptDomainName)}),
		}, append(opts, layers.NewDHCPOption(layers.DHCPOptEnd, nil))...),
	}
	if ciaddr != nil {
		m.ClientIP = ciaddr
	} else {
		m.Flags = 0x8000 // answer by broadcast: we cannot take unicast yet
	}
	return m
}

// exchange sends msg to server every retry until an answer of type
// want with msg's xid comes, a NAK comes, or the deadline passes.
func (cl *dhcpClient) exchange(msg *layers.DHCPv4, want layers.DHCPMsgType, server *net.UDPAddr, deadline time.Time, retry time.Duration) (*layers.DHCPv4, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, msg); err != nil {
		return nil, err
	}
	var sendErr error
	for time.Now().Before(deadline) {
		// A failed send (no route to the server yet, say) is as good as
		// no answer: the next try may get through.
		if _, err := cl.c.WriteTo(buf.Bytes(), server); err != nil {
			sendErr = err
		}
		cl.c.SetReadDeadline(minTime(time.Now().Add(retry), deadline))
		for {
			n, _, err := cl.c.ReadFrom(cl.rb)
			if err != nil {
				break // timeout: send again
			}
			var ans layers.DHCPv4
			if ans.DecodeFromBytes(cl.rb[:n], gopacket.NilDecodeFeedback) != nil || ans.Xid != msg.Xid || ans.Operation != layers.DHCPOpReply {
				continue
			}
			switch msgType(&ans) {
			case want:
				return &ans, nil
			case layers.DHCPMsgTypeNak:
				return nil, errNAK
			}
		}
	}
	if sendErr != nil {
		return nil, fmt.Errorf("%w (the last send failed: %v)", errNoAnswer, sendErr)
	}
	return nil, errNoAnswer
}

// leaseOf reads the lease an ACK grants, with RFC 2131's defaults for
// T1 and T2 (half and seven eighths of the lease) and the order T1 <= T2
// <= lease enforced.
func leaseOf(ack *layers.DHCPv4, start time.Time) (*lease, error) {
	addr, ok := netip.AddrFromSlice(ack.YourClientIP.To4())
	if !ok || addr.IsUnspecified() {
		return nil, errors.New("the ACK has no address")
	}
	bits := 24
	if m := option(ack, layers.DHCPOptSubnetMask); len(m) == 4 {
		bits, _ = net.IPMask(m).Size()
	}
	l := &lease{addr: netip.PrefixFrom(addr, bits), start: start}
	if r := option(ack, layers.DHCPOptRouter); len(r) >= 4 {
		l.router = netip.AddrFrom4([4]byte(r[:4]))
	}
	if sid := option(ack, layers.DHCPOptServerID); len(sid) == 4 {
		l.server = netip.AddrFrom4([4]byte(sid))
	}
	dns := option(ack, layers.DHCPOptDNS)
	for len(dns) >= 4 {
		l.dns = append(l.dns, netip.AddrFrom4([4]byte(dns[:4])))
		dns = dns[4:]
	}
	if name := strings.TrimRight(string(option(ack, layers.DHCPOptDomainName)), "\x00"); validDomain(name) {
		l.domain = name
	}
	secs := func(o layers.DHCPOpt) (time.Duration, bool) {
		v := option(ack, o)
		if len(v) != 4 {
			return 0, false
		}
		return time.Duration(binary.BigEndian.Uint32(v)) * time.Second, true
	}
	life, ok := secs(layers.DHCPOptLeaseTime)
	if !ok || life == 0xffffffff*time.Second {
		return l, nil // no lease time, or infinity: for ever
	}
	l.life = life
	l.t1, l.t2 = life/2, life/8*7
	if t2, ok := secs(layers.DHCPOptT2); ok && t2 <= life {
		l.t2 = t2
	}
	if t1, ok := secs(layers.DHCPOptT1); ok && t1 <= l.t2 {
		l.t1 = t1
	}
	l.t1 = min(l.t1, l.t2)
	return l, nil
}

// keep keeps the device's lease l (nil: the first exchange failed) for
// the life of the program.
func (cl *dhcpClient) keep(l *lease) {
	if l == nil {
		l = cl.acquireAgain(dhcpBackoffMin)
	}
	for {
		if l.life == 0 {
			return
		}
		time.Sleep(time.Until(l.start.Add(l.t1)))
		nl, err := cl.extend(l, false, l.start.Add(l.t2))
		if errors.Is(err, errNoAnswer) {
			nl, err = cl.extend(l, true, l.start.Add(l.life))
		}
		if err == nil {
			cl.configure(l, nl)
			l = nl
			continue
		}
		fmt.Fprintf(os.Stderr, "unimon: DHCPv4 on %s: %v; the lease of %s ended, asking for a new one\n", cl.d.name, err, l.addr)
		cl.configure(l, nil)
		l = cl.acquireAgain(0)
	}
}

// acquireAgain gets a new lease for a device that has none, trying until
// one comes: first after wait, then backing off up to dhcpBackoffMax.
// It configures the device with it and says so on the console (where
// the lease's loss, or the first exchange's failure, was reported).
func (cl *dhcpClient) acquireAgain(wait time.Duration) *lease {
	for {
		if wait > 0 {
			time.Sleep(wait + time.Duration(mrand.Int64N(int64(2*time.Second))) - time.Second)
		}
		if l, err := cl.acquire(); err == nil {
			cl.configure(nil, l)
			fmt.Fprintf(os.Stderr, "unimon: DHCPv4 on %s: leased %s\n", cl.d.name, l.addr)
			return l
		}
		wait = min(max(2*wait, dhcpBackoffMin), dhcpBackoffMax)
	}
}

// configure moves the device from lease old to lease l (either nil: none):
// its address and routes, the interface list, and the DNS servers and
// search domain in /etc/resolv.conf.
func (cl *dhcpClient) configure(old, l *lease) {
	cfgMu.Lock()
	defer cfgMu.Unlock()
	d := cl.d
	d.dns, d.domain = nil, ""
	if l != nil {
		d.dns, d.domain = l.dns, l.domain
	}
	writeFiles(theConfig)
	if old != nil && l != nil && old.addr == l.addr && old.router == l.router {
		return
	}
	if old != nil {
		cl.s.RemoveAddress(d.nic, tcpipAddr(old.addr.Addr()))
		cl.s.RemoveRoutes(func(r tcpip.Route) bool {
			return r.NIC == d.nic && r == route(old.addr.Masked(), netip.Addr{}, d.nic) ||
				old.router.IsValid() && r == route(netip.MustParsePrefix("0.0.0.0/0"), old.router, d.nic)
		})
		d.ipv4, d.gateway = netip.Prefix{}, netip.Addr{}
	}
	if l != nil {
		d.ipv4, d.gateway = l.addr, l.router
		addIPv4(d)
	}
	for i := range socktab.Ifaces[:socktab.NIfaces.Load()] {
		if socktab.Ifaces[i].Index == uint32(d.nic) {
			socktab.Ifaces[i] = devIface(d)
		}
	}
}

// validDomain is whether a server's domain name can go in resolv.conf:
// a DNS name (letters, digits, hyphens, dots, underscores) of at most
// 253 characters; anything else is ignored.
func validDomain(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// newXID is a new transaction ID.
func newXID() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
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
