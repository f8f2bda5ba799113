package devices

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The misc device number of /dev/net/tun (Linux's TUN_MINOR).
const (
	tunMajor = 10
	tunMinor = 200
)

// OpenTapFD attaches to a tap that another process already opened and
// attached, passing the file descriptor down: solo5-hvt's
// --net:NAME=@NN, used by orchestrators that create the tap themselves
// so the monitor needs no privilege to reach it.
//
// fd must be a /dev/net/tun descriptor on which TUNSETIFF made a tap
// (IFF_TAP) without packet information or virtio headers (IFF_NO_PI, no
// IFF_VNET_HDR), so that each read and write is one Ethernet frame; the
// tap must be in the calling thread's network namespace, where its MTU is
// read (and GRO/GSO switched off, as OpenTap does). mac is the guest's
// address; the zero MAC picks RandomMAC().
//
// On success the Tap owns fd: it is made non-blocking and close-on-exec,
// and Close closes it. On error fd is left open, and as it was.
func OpenTapFD(fd int, mac MAC) (*Tap, error) {
	what := fmt.Sprintf("fd %d", fd)
	if fd < 0 {
		return nil, fmt.Errorf("%s: not a file descriptor", what)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		if errors.Is(err, unix.EBADF) {
			return nil, fmt.Errorf("%s: not open in this process (pass the tap's descriptor down to it): %w", what, err)
		}
		return nil, fmt.Errorf("%s: fstat: %w", what, err)
	}
	// Checked before any ioctl, so that a tap ioctl number never reaches
	// some other device's driver.
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != tunMajor || unix.Minor(st.Rdev) != tunMinor {
		return nil, fmt.Errorf("%s: not a tap: it is not /dev/net/tun", what)
	}
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return nil, err
	}
	if err := ioctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		if errors.Is(err, unix.EBADFD) {
			return nil, fmt.Errorf("%s: /dev/net/tun is not attached to an interface (no TUNSETIFF yet): %w", what, err)
		}
		return nil, fmt.Errorf("%s: TUNGETIFF: %w", what, err)
	}
	name, flags := ifr.Name(), ifr.Uint16()
	what = fmt.Sprintf("fd %d (tap %s)", fd, name)
	switch {
	case flags&unix.IFF_TAP == 0:
		return nil, fmt.Errorf("fd %d (%s): a tun (IP) device, not a tap (Ethernet)", fd, name)
	case flags&unix.IFF_NO_PI == 0:
		return nil, fmt.Errorf("%s: attached without IFF_NO_PI: frames would carry a packet information header", what)
	case flags&unix.IFF_VNET_HDR != 0:
		return nil, fmt.Errorf("%s: attached with IFF_VNET_HDR: frames would carry a virtio-net header", what)
	}
	if mac == (MAC{}) {
		mac = RandomMAC()
	} else if err := checkGuestMAC(mac); err != nil {
		return nil, fmt.Errorf("%s: guest MAC: %w", what, err)
	}

	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: control socket: %w", what, err)
	}
	defer unix.Close(ctl)
	// The MTU can only be asked of the interface by name, in a network
	// namespace; the tap's hardware address, which the descriptor itself
	// reports, tells whether the interface of that name here is this tap.
	own, here := new(ifreqBytes), new(ifreqBytes)
	if err := ioctlPtr(fd, unix.SIOCGIFHWADDR, unsafe.Pointer(own)); err != nil {
		return nil, fmt.Errorf("%s: SIOCGIFHWADDR: %w", what, err)
	}
	copy(here[:], name)
	err = ioctlPtr(ctl, unix.SIOCGIFHWADDR, unsafe.Pointer(here))
	// The address is the sockaddr's family and first 6 data bytes.
	hw := unix.IFNAMSIZ + 8
	if errors.Is(err, unix.ENODEV) || err == nil && !bytes.Equal(own[unix.IFNAMSIZ:hw], here[unix.IFNAMSIZ:hw]) {
		return nil, fmt.Errorf("%s: the tap is in another network namespace, where its MTU cannot be read: run unimon in the tap's namespace", what)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: SIOCGIFHWADDR: %w", what, err)
	}
	mtu, err := tapSettings(ctl, name)
	if err != nil {
		return nil, fmt.Errorf("fd %d: %w", fd, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("%s: setting O_NONBLOCK: %w", what, err)
	}
	unix.CloseOnExec(fd)
	return &Tap{name: name, mac: mac, mtu: mtu, fd: fd}, nil
}

// ifreqBytes is a struct ifreq as bytes, for the requests unix.Ifreq has
// no accessor for (a hardware address).
type ifreqBytes [unix.IFNAMSIZ + 24]byte
