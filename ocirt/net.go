package ocirt

import (
	"errors"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/ociimage"
)

// tapName is the tap the runtime creates in the container's network
// namespace; one unikernel per namespace, so one name does.
const tapName = "unimon-tap0"

// netPlan is what the guest is told about the container's interface.
type netPlan struct {
	link    string      // the container interface, e.g. eth0
	mac     devices.MAC // eth0's MAC, which the guest takes over
	addr    *net.IPNet  // eth0's first IPv4 address, or nil
	gateway net.IP      // the IPv4 default gateway, or nil
}

// guestArgs are the address options for style, put before the guest's
// own arguments.
func (n *netPlan) guestArgs(style string) []string {
	if n.addr == nil || style == ociimage.NetArgsNone {
		return nil
	}
	prefix := "--"
	if style == ociimage.NetArgsGo {
		prefix = "--unimon:"
	}
	args := []string{prefix + "ipv4=" + n.addr.String()}
	if n.gateway != nil {
		args = append(args, prefix+"ipv4-gateway="+n.gateway.String())
	}
	return args
}

// inNetNS runs fn on a thread that has entered the network namespace at
// path ("" for the process's own). The thread is thrown away afterwards
// rather than switched back, so no goroutine ever runs in the wrong
// namespace.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if path != "" {
			ns, err := netns.GetFromPath(path)
			if err != nil {
				errc <- fmt.Errorf("network namespace %s: %w", path, err)
				return
			}
			defer ns.Close()
			if err := netns.Set(ns); err != nil {
				errc <- fmt.Errorf("network namespace %s: setns: %w", path, err)
				return
			}
		}
		errc <- fn()
	}()
	return <-errc
}

// containerLink is the interface the engine gave the container: eth0 if
// it exists, else the first non-loopback interface that is not our tap.
func containerLink() (netlink.Link, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("netlink: list links: %w", err)
	}
	var found netlink.Link
	for _, l := range links {
		a := l.Attrs()
		if a.Name == tapName || a.Flags&net.FlagLoopback != 0 {
			continue
		}
		if a.Name == "eth0" {
			return l, nil
		}
		if found == nil {
			found = l
		}
	}
	return found, nil
}

// plugNet wires the container's interface to a new tap in the current
// thread's network namespace: the tap, ingress qdiscs on both, and a
// matchall filter on each that redirects every frame to the other (tc
// mirred, as Kata and urunc do). It returns nil, nil when the namespace
// has no interface. The tap is attached with eth0's MAC.
func plugNet() (*netPlan, *devices.Tap, error) {
	link, err := containerLink()
	if err != nil || link == nil {
		return nil, nil, err
	}
	a := link.Attrs()
	np := &netPlan{link: a.Name}
	if len(a.HardwareAddr) != len(np.mac) {
		return nil, nil, fmt.Errorf("%s: hardware address %v is %d bytes, an Ethernet address for the guest has 6", a.Name, a.HardwareAddr, len(a.HardwareAddr))
	}
	np.mac = devices.MAC(a.HardwareAddr)
	// The zero MAC would ask OpenTap for a random address, and a guest
	// that does not take eth0's over misses the frames the container's
	// peers send to it: refused, as OpenTap refuses multicast ones.
	if np.mac == (devices.MAC{}) {
		return nil, nil, fmt.Errorf("%s: hardware address %v is all zero, not one the guest can take over", a.Name, np.mac)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink: addresses of %s: %w", a.Name, err)
	}
	if len(addrs) > 0 {
		np.addr = addrs[0].IPNet
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink: routes: %w", err)
	}
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) && r.Gw != nil {
			np.gateway = r.Gw
			break
		}
	}

	tap := &netlink.Tuntap{
		LinkAttrs: netlink.LinkAttrs{Name: tapName, MTU: a.MTU},
		Mode:      netlink.TUNTAP_MODE_TAP,
		Flags:     netlink.TUNTAP_NO_PI,
	}
	if err := netlink.LinkAdd(tap); err != nil {
		return nil, nil, fmt.Errorf("netlink: create tap %s: %w", tapName, err)
	}
	ok := false
	defer func() {
		if !ok {
			unplugNet()
		}
	}()
	tl, err := netlink.LinkByName(tapName)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink: tap %s: %w", tapName, err)
	}
	if err := netlink.LinkSetUp(tl); err != nil {
		return nil, nil, fmt.Errorf("netlink: set %s up: %w", tapName, err)
	}
	for _, pair := range [][2]netlink.Link{{link, tl}, {tl, link}} {
		if err := redirect(pair[0], pair[1]); err != nil {
			return nil, nil, err
		}
	}
	dev, err := devices.OpenTap(tapName, np.mac)
	if err != nil {
		return nil, nil, err
	}
	ok = true
	return np, dev, nil
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}

// ingressHandle is the handle of the ingress qdisc, ffff:.
var ingressHandle = netlink.MakeHandle(0xffff, 0)

// redirect sends every frame arriving on from out of to.
func redirect(from, to netlink.Link) error {
	q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: from.Attrs().Index, Handle: ingressHandle, Parent: netlink.HANDLE_INGRESS,
	}}
	if err := netlink.QdiscAdd(q); err != nil {
		return fmt.Errorf("netlink: ingress qdisc on %s: %w", from.Attrs().Name, err)
	}
	mirred := netlink.NewMirredAction(to.Attrs().Index)
	mirred.MirredAction = netlink.TCA_EGRESS_REDIR
	mirred.Action = netlink.TC_ACT_STOLEN
	// u32 with one zero-mask key matches every frame; it is what Kata
	// uses, and unlike matchall it is built into every distribution
	// kernel (this machine's lacks CONFIG_NET_CLS_MATCHALL).
	f := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: from.Attrs().Index, Parent: ingressHandle, Priority: 1, Protocol: unix.ETH_P_ALL,
		},
		Sel:     &netlink.TcU32Sel{Flags: netlink.TC_U32_TERMINAL, Keys: []netlink.TcU32Key{{}}},
		Actions: []netlink.Action{mirred},
	}
	if err := netlink.FilterAdd(f); err != nil {
		return fmt.Errorf("netlink: redirect filter %s -> %s: %w", from.Attrs().Name, to.Attrs().Name, err)
	}
	return nil
}

// unplugNet undoes plugNet in the current thread's namespace: deleting
// the ingress qdisc of the container's interface deletes its filter, and
// deleting the tap deletes everything on it. What is already gone is
// not an error.
func unplugNet() error {
	var errs []error
	if tl, err := netlink.LinkByName(tapName); err == nil {
		if err := netlink.LinkDel(tl); err != nil {
			errs = append(errs, fmt.Errorf("netlink: delete %s: %w", tapName, err))
		}
	}
	link, err := containerLink()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if link != nil {
		q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: link.Attrs().Index, Handle: ingressHandle, Parent: netlink.HANDLE_INGRESS,
		}}
		if err := netlink.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("netlink: delete ingress qdisc of %s: %w", link.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}
