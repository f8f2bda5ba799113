package devices

import (
	"os"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/netnstest"
	"golang.org/x/sys/unix"
)

// tunFD opens /dev/net/tun and, unless flags is 0, attaches it to
// ifname with flags, as an orchestrator does before passing the fd on.
func tunFD(ifname string, flags uint16) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil || flags == 0 {
		return fd, err
	}
	ifr, err := unix.NewIfreq(ifname)
	if err == nil {
		ifr.SetUint16(flags)
		err = ioctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// A pre-opened tap descriptor works like a named tap: same name, the
// interface's MTU, frames through it.
func TestOpenTapFD(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	ns.AddTap("ufd0", "", 1280)
	var tap *Tap
	var fd int
	err := ns.Do(func() error {
		var err error
		if fd, err = tunFD("ufd0", unix.IFF_TAP|unix.IFF_NO_PI); err != nil {
			return err
		}
		tap, err = OpenTapFD(fd, guestMAC)
		if err != nil {
			unix.Close(fd)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	if tap.Name() != "ufd0" || tap.MTU() != 1280 || tap.ReadyFD() != fd || tap.MAC() != guestMAC {
		t.Errorf("tap %s, MTU %d, fd %d (want %d), MAC %s", tap.Name(), tap.MTU(), tap.ReadyFD(), fd, tap.MAC())
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("fd flags %#x, %v: want O_NONBLOCK", fl, err)
	}
	frame := arpRequest(guestMAC, tapGuestIP, tapHostIP)
	if err := tap.WriteFrame(frame); err != nil {
		t.Errorf("WriteFrame: %v", err)
	}
}

func TestOpenTapFDErrors(t *testing.T) {
	checkNoFDLeak(t)
	ns := netnstest.New(t)
	ns.AddTap("ufdvnet0", "", 0)
	ns.IP("tuntap", "add", "dev", "ufdtun0", "mode", "tun")
	ns.AddTap("ufdelse0", "", 0)

	regular, err := os.CreateTemp(t.TempDir(), "notatap")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	cases := []struct {
		name string
		open func() (int, error) // run in the namespace
		here bool                // call OpenTapFD outside the namespace
		msg  string
	}{
		{"regular file", func() (int, error) { return int(regular.Fd()), nil }, false, "not a tap: it is not /dev/net/tun"},
		{"not open", func() (int, error) { return 1 << 20, nil }, false, "not open in this process"},
		{"negative", func() (int, error) { return -1, nil }, false, "not a file descriptor"},
		{"unattached", func() (int, error) { return tunFD("", 0) }, false, "not attached to an interface"},
		{"tun", func() (int, error) { return tunFD("ufdtun0", unix.IFF_TUN|unix.IFF_NO_PI) }, false, "a tun (IP) device, not a tap"},
		// No case for a tap without IFF_NO_PI: the kernels here report
		// IFF_NO_PI on every tap, even one attached with IFF_TAP alone.
		{"vnet header", func() (int, error) { return tunFD("ufdvnet0", unix.IFF_TAP|unix.IFF_NO_PI|unix.IFF_VNET_HDR) }, false, "IFF_VNET_HDR"},
		{"other namespace", func() (int, error) { return tunFD("ufdelse0", unix.IFF_TAP|unix.IFF_NO_PI) }, true, "in another network namespace"},
	}
	for _, tc := range cases {
		var fd int
		var tap *Tap
		err := ns.Do(func() error {
			var err error
			if fd, err = tc.open(); err != nil || tc.here {
				return err
			}
			tap, err = OpenTapFD(fd, MAC{})
			return err
		})
		if err == nil && tc.here {
			tap, err = OpenTapFD(fd, MAC{})
		}
		if tap != nil {
			tap.Close()
		} else if fd > 2 && fd != int(regular.Fd()) && fd != 1<<20 {
			unix.Close(fd)
		}
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.msg)
		}
	}
}
