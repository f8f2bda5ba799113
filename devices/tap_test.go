package devices

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/netnstest"
	"golang.org/x/sys/unix"
)

// All addresses below live only inside a test's private namespace.
var (
	tapHostIP  = net.IPv4(10, 213, 0, 1).To4()
	tapGuestIP = net.IPv4(10, 213, 0, 2).To4()
	guestMAC   = MAC{0x02, 0x75, 0x6e, 0x69, 0x6d, 0x01}
)

// openTapIn attaches to ifname inside ns and closes it at cleanup.
func openTapIn(t *testing.T, ns *netnstest.NS, ifname string, mac MAC) *Tap {
	t.Helper()
	var tap *Tap
	err := ns.Do(func() error {
		var err error
		tap, err = OpenTap(ifname, mac)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tap.Close(); err != nil {
			t.Error(err)
		}
	})
	return tap
}

// arpRequest builds an Ethernet frame asking who has target, from
// sender's addresses.
func arpRequest(senderMAC MAC, senderIP, target net.IP) []byte {
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], senderMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806) // ARP
	binary.BigEndian.PutUint16(f[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(f[16:], 0x0800) // IPv4
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:], 1) // request
	copy(f[22:28], senderMAC[:])
	copy(f[28:32], senderIP)
	// Target hardware address f[32:38] stays zero: it is the question.
	copy(f[38:42], target)
	return f
}

// arpReply is the part of an ARP reply the test checks.
type arpReply struct {
	ethDst, senderMAC, targetMAC net.HardwareAddr
	senderIP, targetIP           net.IP
}

// parseARPReply returns the reply in f, or false if f is not one.
func parseARPReply(f []byte) (arpReply, bool) {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != 0x0806 || binary.BigEndian.Uint16(f[20:]) != 2 {
		return arpReply{}, false
	}
	return arpReply{
		ethDst:    net.HardwareAddr(f[0:6]),
		senderMAC: net.HardwareAddr(f[22:28]),
		senderIP:  net.IP(f[28:32]),
		targetMAC: net.HardwareAddr(f[32:38]),
		targetIP:  net.IP(f[38:42]),
	}, true
}

// TestTapARP sends a guest's ARP request into a real tap and reads the
// kernel's reply back: the whole Net path over a real interface.
func TestTapARP(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	ns.AddTap("utap0", "10.213.0.1/24", 0)

	var hostMAC net.HardwareAddr
	var gro, gso uint32
	tap := openTapIn(t, ns, "utap0", guestMAC)
	err := ns.Do(func() error {
		ifc, err := net.InterfaceByName("utap0")
		if err != nil {
			return err
		}
		hostMAC = ifc.HardwareAddr
		ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(ctl)
		if gro, err = ethtool(ctl, "utap0", unix.ETHTOOL_GGRO, 0); err != nil {
			return err
		}
		gso, err = ethtool(ctl, "utap0", unix.ETHTOOL_GGSO, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if gro != 0 || gso != 0 {
		t.Errorf("after OpenTap: GRO %d GSO %d, want both off", gro, gso)
	}
	if tap.Name() != "utap0" || tap.MAC() != guestMAC || tap.MTU() != 1500 {
		t.Errorf("tap name %q MAC %v MTU %d", tap.Name(), tap.MAC(), tap.MTU())
	}
	fd := tap.ReadyFD()
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("tap fd F_GETFL %#x %v: want O_NONBLOCK", fl, err)
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("tap fd F_GETFD %#x %v: want FD_CLOEXEC", fl, err)
	}

	// Right after the attach the kernel may still drop what it sends to
	// the tap: carrier comes up at once, but the queueing discipline is
	// only activated by linkwatch, up to a second later. So, like any ARP
	// client, resend the request until a reply comes. The kernel may also
	// send IPv6 housekeeping frames on the fresh link; skip anything that
	// is not the ARP reply.
	req := arpRequest(guestMAC, tapGuestIP, tapHostIP)
	buf := make([]byte, tap.MTU()+14)
	const resendMillis, attempts = 200, 150 // 30 s, only as a hang guard
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for attempt := 0; ; attempt++ {
		if attempt == attempts {
			t.Fatalf("no ARP reply to %d requests", attempts)
		}
		if err := tap.WriteFrame(req); err != nil {
			t.Fatal(err)
		}
		r, ok := readARPReply(t, tap, fds, buf, resendMillis)
		if !ok {
			continue
		}
		if !bytes.Equal(r.ethDst, guestMAC[:]) || !bytes.Equal(r.targetMAC, guestMAC[:]) || !r.targetIP.Equal(tapGuestIP) ||
			!bytes.Equal(r.senderMAC, hostMAC) || !r.senderIP.Equal(tapHostIP) {
			t.Fatalf("ARP reply %+v: want %v (%v) answering %v (%v)", r, tapHostIP, hostMAC, tapGuestIP, guestMAC)
		}
		t.Logf("ARP reply to request %d: %v is at %v", attempt+1, r.senderIP, r.senderMAC)
		return
	}
}

// readARPReply reads frames from tap until an ARP reply arrives (true)
// or none has for timeoutMillis (false).
func readARPReply(t *testing.T, tap *Tap, fds []unix.PollFd, buf []byte, timeoutMillis int) (arpReply, bool) {
	t.Helper()
	for {
		n, err := unix.Poll(fds, timeoutMillis)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			t.Fatalf("poll: %v", err)
		case n == 0:
			return arpReply{}, false
		}
		n, err = tap.ReadFrame(buf)
		switch {
		case err == ErrWouldBlock:
			continue
		case err != nil:
			t.Fatal(err)
		}
		if r, ok := parseARPReply(buf[:n]); ok {
			return r, true
		}
	}
}

// TestTapQuiet checks that an idle tap is not readable and that a read
// returns ErrWouldBlock at once.
func TestTapQuiet(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	// No address and no IPv6: nothing makes the kernel send a frame.
	ns.IP("tuntap", "add", "dev", "uquiet0", "mode", "tap")
	ns.DisableIPv6("uquiet0")
	ns.IP("link", "set", "dev", "uquiet0", "up")
	tap := openTapIn(t, ns, "uquiet0", MAC{})
	if _, err := tap.ReadFrame(make([]byte, 1514)); err != ErrWouldBlock {
		t.Fatalf("ReadFrame on idle tap: %v, want ErrWouldBlock", err)
	}
	fds := []unix.PollFd{{Fd: int32(tap.ReadyFD()), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 0); err != nil || n != 0 {
		t.Fatalf("idle tap poll: %d, %v", n, err)
	}
	// The zero MAC: a random unicast, locally administered one.
	if mac := tap.MAC(); checkGuestMAC(mac) != nil || mac[0]&2 == 0 {
		t.Errorf("random MAC %v", mac)
	}
}

func TestTapMTU(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	for _, tc := range []struct {
		ifname string
		set    int
		want   int
	}{
		{"umtu0", 0, 1500},
		{"umtu1", 9000, 9000},
		{"umtu2", 576, 576},
	} {
		ns.AddTap(tc.ifname, "", tc.set)
		if got := openTapIn(t, ns, tc.ifname, guestMAC).MTU(); got != tc.want {
			t.Errorf("%s with MTU %d: MTU() = %d, want %d", tc.ifname, tc.set, got, tc.want)
		}
	}
}

func TestTapOpenErrors(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	ns.AddTap("ubusy0", "", 0)
	ns.IP("tuntap", "add", "dev", "udown0", "mode", "tap") // left down
	ns.IP("tuntap", "add", "dev", "utun0", "mode", "tun")
	ns.IP("link", "set", "dev", "utun0", "up")
	openTapIn(t, ns, "ubusy0", MAC{})

	cases := []struct {
		name    string
		ifname  string
		mac     MAC
		wantErr error
		wantMsg string
	}{
		{"missing", "unosuch0", MAC{}, unix.ENODEV, "interface unosuch0 does not exist"},
		{"down", "udown0", MAC{}, unix.ENETDOWN, "interface udown0 is down: bring it up with ip link set udown0 up"},
		{"loopback", "lo", MAC{}, unix.EINVAL, "not a tap device"},
		{"tun", "utun0", MAC{}, unix.EINVAL, "not a tap device"},
		{"busy", "ubusy0", MAC{}, unix.EBUSY, "already attached"},
		{"empty name", "", MAC{}, nil, "empty interface name"},
		{"long name", "u23456789012345x", MAC{}, nil, "at most 15"},
		{"pattern name", "utap%d", MAC{}, nil, "invalid character"},
		{"multicast MAC", "ubusy0", MAC{1, 2, 3, 4, 5, 6}, nil, "unicast"},
		{"broadcast MAC", "ubusy0", MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, "unicast"},
	}
	errs := make([]error, len(cases))
	err := ns.Do(func() error {
		for i, tc := range cases {
			tap, err := OpenTap(tc.ifname, tc.mac)
			if err == nil {
				tap.Close()
			}
			errs[i] = err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		err := errs[i]
		t.Logf("%s: %v", tc.name, err)
		switch {
		case err == nil:
			t.Errorf("%s: no error", tc.name)
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Errorf("%s: %v is not %v", tc.name, err, tc.wantErr)
		case !strings.Contains(err.Error(), tc.wantMsg):
			t.Errorf("%s: error %q should say %q", tc.name, err, tc.wantMsg)
		}
	}
}

func TestTapClose(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	ns.AddTap("uclose0", "", 0)
	tap := openTapIn(t, ns, "uclose0", MAC{})
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tap.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if tap.ReadyFD() != -1 {
		t.Errorf("ReadyFD after Close = %d", tap.ReadyFD())
	}
	if _, err := tap.ReadFrame(make([]byte, 64)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadFrame after Close: %v, want os.ErrClosed", err)
	}
	if err := tap.WriteFrame(make([]byte, 64)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WriteFrame after Close: %v, want os.ErrClosed", err)
	}
	// Close detached the tap, so it can be attached again.
	openTapIn(t, ns, "uclose0", MAC{})
}

// asUnprivileged runs f on a thread of its own that has entered ns and
// dropped CAP_NET_ADMIN from its effective set, as a non-root user who
// owns a tap would run. The thread is never unlocked, so the runtime
// discards it with its odd namespace and capabilities.
func asUnprivileged(ns *netnstest.NS, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			nsfd, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			err = unix.Setns(nsfd, unix.CLONE_NEWNET)
			unix.Close(nsfd)
			if err != nil {
				return err
			}
			hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			var data [2]unix.CapUserData
			if err := unix.Capget(&hdr, &data[0]); err != nil {
				return err
			}
			data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
			if err := unix.Capset(&hdr, &data[0]); err != nil {
				return err
			}
			return f()
		}()
	}()
	return <-errc
}

// TestTapUnprivilegedOffloads covers the owner of a tap attaching
// without CAP_NET_ADMIN: refused while GRO is on (the guest could get
// oversized frames), accepted once an administrator turned it off.
func TestTapUnprivilegedOffloads(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	ns.IP("tuntap", "add", "dev", "upriv0", "mode", "tap", "user", strconv.Itoa(os.Geteuid()))
	ns.IP("link", "set", "dev", "upriv0", "up")

	open := func() error {
		tap, err := OpenTap("upriv0", MAC{})
		if err == nil {
			tap.Close()
		}
		return err
	}
	err := asUnprivileged(ns, open)
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "cannot disable GRO") {
		t.Fatalf("unprivileged attach with GRO on: %v, want EPERM and a hint", err)
	}
	t.Log(err)

	// The administrator's part, as `ethtool -K upriv0 gro off gso off`.
	if err := ns.Do(func() error {
		ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(ctl)
		if _, err := ethtool(ctl, "upriv0", unix.ETHTOOL_SGRO, 0); err != nil {
			return err
		}
		_, err = ethtool(ctl, "upriv0", unix.ETHTOOL_SGSO, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := asUnprivileged(ns, open); err != nil {
		t.Fatalf("unprivileged attach with offloads already off: %v", err)
	}
}
