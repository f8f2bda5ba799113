// Package netstack is the TCP/IP stack of Go unikernels: gVisor's
// netstack (gvisor.dev/gvisor/pkg/tcpip) running as goroutines of the
// program, serving the socket system calls the bindings' kernel
// receives, so that the standard net and net/http packages work
// unchanged.
//
// It is not imported by programs: `unimon build` links it (through a
// build tag of package bindings) when the program imports net. It starts
// in its init, before main: it makes a loopback interface (127.0.0.1/8,
// ::1) and one interface per net device it takes, configures them from
// the --unimon: options (or DHCPv4), writes the files the net package
// reads (/etc/resolv.conf, /etc/hosts, /etc/nsswitch.conf, /etc/hostname,
// /proc/sys/net/core/somaxconn) and the interface list net.Interfaces
// reports, and then serves sockets.
//
// # Configuration
//
// On the unikernel's command line, before the program's arguments:
//
//	--unimon:ipv4=ADDR/PREFIX   the device's IPv4 address (without it: DHCPv4)
//	--unimon:ipv4-gateway=ADDR  the IPv4 default router
//	--unimon:ipv6=ADDR/PREFIX   a static IPv6 address
//	--unimon:dns=ADDR           a DNS server (repeatable)
//	--unimon:hostname=NAME      the host name
//
// With one net device, these configure it. With several, --unimon:net=NAME
// starts the options of device NAME (the options before the first
// --unimon:net=, if any, configure the manifest's first net device):
//
//	--unimon:net=service0 --unimon:ipv4=10.0.0.2/24 --unimon:ipv4-gateway=10.0.0.1
//	--unimon:net=backend --unimon:ipv4=192.168.7.2/24
//
// # The stack and raw devices
//
// The stack takes the devices named by --unimon:net=; with none, it takes
// the manifest's first net device, unless the program opens net devices
// raw with bindings.OpenNet (unimon build sees that the linker kept
// OpenNet and clears takeFirstDevice). The devices the stack does not
// take are the program's to open raw; --unimon:net=none takes none
// (loopback only). A device the stack took is busy for OpenNet.
package netstack

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/link/qdisc/fifo"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// devicePrefix is where the bindings show the Solo5 devices as files
// (bindings.DevicePrefix; this package cannot import bindings, which
// imports it).
const devicePrefix = "/dev/solo5/"

const loopbackNIC = 1

var theStack *stack.Stack

// takeFirstDevice is whether the stack takes the manifest's first net
// device when no --unimon:net= names devices: unimon build clears it in
// programs that call bindings.OpenNet (a byte of initialised data it
// finds by its symbol).
var takeFirstDevice = true

// device is the configuration of one net device the stack takes.
type device struct {
	name    string
	nic     tcpip.NICID
	mac     [6]byte
	mtu     uint32
	ipv4    netip.Prefix // invalid: DHCPv4
	gateway netip.Addr
	ipv6    []netip.Prefix
	dns     []netip.Addr // the DHCP lease's DNS servers
	domain  string       // and its domain name (a search domain)
}

// config is the parsed network configuration.
type config struct {
	devices []*device
	dns     []netip.Addr // --unimon:dns
}

// theConfig is the configuration the stack runs with; cfgMu guards the
// devices' addresses, the interface list and the generated files, which
// the DHCP clients' goroutines change as leases come and go.
var (
	theConfig *config
	cfgMu     sync.Mutex
)

func init() {
	if !socktab.Booted {
		return // an ordinary process: the host's own network
	}
	cfg, err := parseConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "unimon netstack: %v\n", err)
		os.Exit(1)
	}
	if err := start(cfg); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "unimon netstack: "+format+"\n", args...)
	os.Exit(1)
}

// parseConfig reads the options the kernel recorded.
func parseConfig() (*config, error) {
	cfg := &config{}
	devs := make([]socktab.NetDev, socktab.NNetDevs)
	copy(devs, socktab.NetDevs[:socktab.NNetDevs])
	find := func(name string) *device {
		for _, d := range devs {
			if string(d.Name[:d.NameLen]) == name {
				dv := &device{name: name, mac: d.MAC, mtu: d.MTU}
				cfg.devices = append(cfg.devices, dv)
				return dv
			}
		}
		return nil
	}
	var cur *device
	named := false
	for i := 0; i < socktab.NConfig; i++ {
		e := &socktab.Config[i]
		val := string(e.Val[:e.Len])
		opt := optName(e.Kind) + val
		if e.Kind == socktab.CfgNet {
			if val == "none" {
				cur, named = nil, true
				continue
			}
			for _, d := range cfg.devices {
				if d.name == val {
					return nil, fmt.Errorf("%s: device %q named twice", opt, val)
				}
			}
			if !named && cur != nil {
				return nil, fmt.Errorf("%s: options before the first --unimon:net= configure the first device; name it first", opt)
			}
			named = true
			if cur = find(val); cur == nil {
				return nil, fmt.Errorf("%s: no attached net device %q in the manifest", opt, val)
			}
			continue
		}
		if e.Kind == socktab.CfgDNS {
			a, err := netip.ParseAddr(val)
			if err != nil {
				return nil, fmt.Errorf("%s: not an IP address", opt)
			}
			cfg.dns = append(cfg.dns, a)
			continue
		}
		if cur == nil {
			if named || len(devs) == 0 {
				return nil, fmt.Errorf("%s: no net device to configure (the unikernel needs one: unimon build --net NAME)", opt)
			}
			cur = find(string(devs[0].Name[:devs[0].NameLen]))
		}
		switch e.Kind {
		case socktab.CfgIPv4:
			p, err := netip.ParsePrefix(val)
			if err != nil || !p.Addr().Is4() {
				return nil, fmt.Errorf("%s: want an IPv4 ADDR/PREFIX such as 10.0.0.2/24", opt)
			}
			cur.ipv4 = p
		case socktab.CfgIPv4Gateway:
			a, err := netip.ParseAddr(val)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("%s: want an IPv4 address", opt)
			}
			cur.gateway = a
		case socktab.CfgIPv6:
			p, err := netip.ParsePrefix(val)
			if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
				return nil, fmt.Errorf("%s: want an IPv6 ADDR/PREFIX such as fd00::2/64", opt)
			}
			cur.ipv6 = append(cur.ipv6, p)
		}
	}
	if !named && len(cfg.devices) == 0 && len(devs) > 0 && takeFirstDevice {
		find(string(devs[0].Name[:devs[0].NameLen]))
	}
	for _, d := range cfg.devices {
		if d.gateway.IsValid() && !d.ipv4.IsValid() {
			return nil, fmt.Errorf("--unimon:ipv4-gateway=%s needs --unimon:ipv4 for device %s", d.gateway, d.name)
		}
	}
	return cfg, nil
}

func optName(kind uint32) string {
	switch kind {
	case socktab.CfgIPv4:
		return "--unimon:ipv4="
	case socktab.CfgIPv4Gateway:
		return "--unimon:ipv4-gateway="
	case socktab.CfgIPv6:
		return "--unimon:ipv6="
	case socktab.CfgDNS:
		return "--unimon:dns="
	case socktab.CfgNet:
		return "--unimon:net="
	}
	return "--unimon:"
}

// start makes the stack, configures it and serves sockets.
func start(cfg *config) error {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        true,
	})
	theStack, theConfig = s, cfg
	// Linux's behaviour where netstack's default differs: SACK on, and
	// the ephemeral ports Linux uses.
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	s.SetPortRange(32768, 60999)

	if err := s.CreateNIC(loopbackNIC, loopback.New()); err != nil {
		return fmt.Errorf("loopback: %v", err)
	}
	addAddr(loopbackNIC, netip.MustParsePrefix("127.0.0.1/8"))
	addAddr(loopbackNIC, netip.MustParsePrefix("::1/128"))
	ifaces := []socktab.Iface{loIface()}

	routes := []tcpip.Route{
		route(netip.MustParsePrefix("127.0.0.0/8"), netip.Addr{}, loopbackNIC),
		route(netip.MustParsePrefix("::1/128"), netip.Addr{}, loopbackNIC),
	}
	for i, d := range cfg.devices {
		d.nic = tcpip.NICID(loopbackNIC + 1 + i)
		f, err := os.OpenFile(devicePrefix+d.name, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("net device %s: %v", d.name, err)
		}
		link, err := newDevLink(f, d.mac, d.mtu)
		if err != nil {
			return fmt.Errorf("net device %s: %v", d.name, err)
		}
		// The queueing discipline hands the link the packets queued
		// while it was busy as one batch (one system call).
		eth := ethernet.New(link)
		if err := s.CreateNICWithOptions(d.nic, eth, stack.NICOptions{QDisc: fifo.New(eth, 1, 1000)}); err != nil {
			return fmt.Errorf("net device %s: %v", d.name, err)
		}
	}
	s.SetRouteTable(routes)

	var err error
	bellFile, err = os.OpenFile("/dev/unimon/sockets", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("the kernel's socket doorbell: %v", err)
	}
	go dispatch()

	var keepers []func() // the DHCP leases' goroutines
	for _, d := range cfg.devices {
		if d.ipv4.IsValid() {
			addIPv4(d)
		} else {
			keep, err := startDHCP(s, d)
			if err != nil && keep != nil {
				fmt.Fprintf(os.Stderr, "unimon: DHCPv4 on %s: %v; going on without an IPv4 address while asking again in the background (or give --unimon:ipv4=ADDR/PREFIX)\n", d.name, err)
			} else if err != nil {
				fmt.Fprintf(os.Stderr, "unimon: DHCPv4 on %s: %v; going on without an IPv4 address (give --unimon:ipv4=ADDR/PREFIX)\n", d.name, err)
			}
			if keep != nil {
				keepers = append(keepers, keep)
			}
		}
		for _, p := range d.ipv6 {
			addAddr(d.nic, p)
			s.AddRoute(route(p.Masked(), netip.Addr{}, d.nic))
		}
		ifaces = append(ifaces, devIface(d))
	}
	cfgMu.Lock()
	writeFiles(cfg)
	for i, f := range ifaces {
		socktab.Ifaces[i] = f
	}
	socktab.NIfaces.Store(uint32(len(ifaces)))
	cfgMu.Unlock()
	for _, k := range keepers {
		go k()
	}
	return nil
}

// addIPv4 gives device d its IPv4 address, the route to its subnet and
// the default route through its gateway, and announces the address.
func addIPv4(d *device) {
	addAddr(d.nic, d.ipv4)
	theStack.AddRoute(route(d.ipv4.Masked(), netip.Addr{}, d.nic))
	if d.gateway.IsValid() {
		theStack.AddRoute(route(netip.MustParsePrefix("0.0.0.0/0"), d.gateway, d.nic))
	}
	announce(d, d.ipv4.Addr())
}

func tcpipAddr(a netip.Addr) tcpip.Address {
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

func addAddr(nic tcpip.NICID, p netip.Prefix) {
	proto := ipv4.ProtocolNumber
	if p.Addr().Is6() {
		proto = ipv6.ProtocolNumber
	}
	err := theStack.AddProtocolAddress(nic, tcpip.ProtocolAddress{
		Protocol:          proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpipAddr(p.Addr()), PrefixLen: p.Bits()},
	}, stack.AddressProperties{})
	if err != nil {
		fatalf("address %s: %v", p, err)
	}
}

func route(dst netip.Prefix, gw netip.Addr, nic tcpip.NICID) tcpip.Route {
	a := tcpipAddr(dst.Addr())
	mask := tcpip.MaskFromBytes(net4or6Mask(dst))
	sub, err := tcpip.NewSubnet(a, mask)
	if err != nil {
		fatalf("route %s: %v", dst, err)
	}
	r := tcpip.Route{Destination: sub, NIC: nic}
	if gw.IsValid() {
		r.Gateway = tcpipAddr(gw)
	}
	return r
}

// net4or6Mask is the netmask bytes of a prefix.
func net4or6Mask(p netip.Prefix) []byte {
	n := 4
	if p.Addr().Is6() {
		n = 16
	}
	m := make([]byte, n)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// Interface flags (Linux IFF_).
const (
	iffUp        = 0x1
	iffBroadcast = 0x2
	iffLoopback  = 0x8
	iffRunning   = 0x40
	iffMulticast = 0x1000
)

func loIface() socktab.Iface {
	f := socktab.Iface{Index: loopbackNIC, Flags: iffUp | iffLoopback | iffRunning, MTU: 65536}
	copy(f.Name[:], "lo")
	f.Addrs[0] = ifAddr(netip.MustParsePrefix("127.0.0.1/8"))
	f.Addrs[1] = ifAddr(netip.MustParsePrefix("::1/128"))
	f.NAddrs = 2
	return f
}

func devIface(d *device) socktab.Iface {
	f := socktab.Iface{Index: uint32(d.nic), Flags: iffUp | iffBroadcast | iffRunning | iffMulticast, MTU: d.mtu, MAC: d.mac}
	copy(f.Name[:len(f.Name)-1], d.name)
	var addrs []netip.Prefix
	if d.ipv4.IsValid() {
		addrs = append(addrs, d.ipv4)
	}
	addrs = append(addrs, d.ipv6...)
	for _, p := range addrs {
		if int(f.NAddrs) < len(f.Addrs) {
			f.Addrs[f.NAddrs] = ifAddr(p)
			f.NAddrs++
		}
	}
	return f
}

func ifAddr(p netip.Prefix) socktab.IfAddr {
	a := socktab.IfAddr{Family: 2, Prefix: uint32(p.Bits())}
	if p.Addr().Is6() {
		a.Family = 10
		b := p.Addr().As16()
		copy(a.Addr[:], b[:])
	} else {
		b := p.Addr().As4()
		copy(a.Addr[:], b[:])
	}
	return a
}

// writeFiles generates the files the net package reads: the DNS servers
// are the options' and then the DHCP leases' (without repeats), the
// search domains the leases'. The caller holds cfgMu.
func writeFiles(cfg *config) {
	host := "unikernel"
	if n := socktab.Hostname.Len; n > 0 {
		host = string(socktab.Hostname.Name[:n])
	}
	var resolv strings.Builder
	resolv.WriteString("# generated by unimon from --unimon:dns (or DHCP)\n")
	dns := append([]netip.Addr(nil), cfg.dns...)
	var search []string
	for _, d := range cfg.devices {
		for _, a := range d.dns {
			if !slices.Contains(dns, a) {
				dns = append(dns, a)
			}
		}
		if d.domain != "" && !slices.Contains(search, d.domain) {
			search = append(search, d.domain)
		}
	}
	for _, a := range dns {
		fmt.Fprintf(&resolv, "nameserver %s\n", a)
	}
	if len(search) > 0 {
		fmt.Fprintf(&resolv, "search %s\n", strings.Join(search, " "))
	}
	var hosts strings.Builder
	fmt.Fprintf(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
	for _, d := range cfg.devices {
		if d.ipv4.IsValid() {
			fmt.Fprintf(&hosts, "%s\t%s\n", d.ipv4.Addr(), host)
		}
	}
	setFile(socktab.FileResolvConf, resolv.String())
	setFile(socktab.FileHosts, hosts.String())
	setFile(socktab.FileNsswitch, "hosts: files dns\n")
	setFile(socktab.FileHostname, host+"\n")
	setFile(socktab.FileSomaxconn, fmt.Sprintf("%d\n", socktab.AcceptMax))
}

// setFile writes generated file i, with a new modification time when
// it changes (the net package rereads resolv.conf when its time does).
func setFile(i int, content string) {
	f := &socktab.Files[i]
	if n := f.Len.Load(); int(n) == len(content) && string(f.Data[:n]) == content {
		return
	}
	n := copy(f.Data[:], content)
	f.Len.Store(uint32(n))
	f.MTime.Store(time.Now().UnixNano())
}

// bufAddr is the address of a ring buffer for the kernel.
func bufAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
