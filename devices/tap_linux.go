package devices

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxIfnameLen is the longest interface name Linux accepts (IFNAMSIZ-1).
const MaxIfnameLen = unix.IFNAMSIZ - 1

// Tap is a Net device over an existing Linux tap interface, attached the
// way solo5-hvt's --net option does it. The file descriptor is
// non-blocking: the monitor waits for frames by polling ReadyFD.
//
// The tap belongs to the network namespace of the thread that called
// OpenTap; after that its methods may be called from any goroutine,
// concurrently.
type Tap struct {
	name string
	mac  MAC
	mtu  int

	// mu keeps Close from closing (and the kernel from reusing) the fd
	// while a read or write is using it. Reads and writes never block,
	// so holding it across the system call is cheap.
	mu sync.RWMutex
	fd int // -1 once closed
}

var _ Net = (*Tap)(nil)

// OpenTap attaches to the tap interface ifname, which must already exist
// in the calling thread's network namespace and be up. mac is the guest's
// address; the zero MAC picks RandomMAC(). The MTU is read from the interface, and
// GRO/GSO are switched off so the kernel never hands the guest a frame
// bigger than MTU+14.
//
// Callers that switch namespaces must call OpenTap on a goroutine locked
// to the thread that entered the namespace (see internal/netnstest).
//
// Attaching turns the tap's carrier on, but the kernel activates the
// interface's transmit queue asynchronously (linkwatch, up to about a
// second later); until then frames the host sends to the guest may be
// dropped. Guest network stacks retry, as after plugging in a cable;
// tests must too.
func OpenTap(ifname string, mac MAC) (*Tap, error) {
	if err := checkIfname(ifname); err != nil {
		return nil, err
	}
	if mac == (MAC{}) {
		mac = RandomMAC()
	} else if err := checkGuestMAC(mac); err != nil {
		return nil, fmt.Errorf("tap %s: guest MAC: %w", ifname, err)
	}
	// A datagram socket is the handle for interface ioctls. It is
	// created in this thread's namespace, the same one the tap lives in.
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: control socket: %w", ifname, err)
	}
	defer unix.Close(ctl)

	// Upstream asks getifaddrs for IFF_UP|IFF_RUNNING; SIOCGIFFLAGS reads
	// the same flags without walking every interface.
	if err := checkIfUp(ctl, ifname); err != nil {
		return nil, err
	}

	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: open /dev/net/tun: %w", ifname, err)
	}
	t, err := attachTap(fd, ctl, ifname, mac)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return t, nil
}

func checkIfname(ifname string) error {
	switch {
	case ifname == "":
		return errors.New("tap: empty interface name")
	case len(ifname) > MaxIfnameLen:
		return fmt.Errorf("tap %q: interface name is %d bytes, Linux allows at most %d", ifname, len(ifname), MaxIfnameLen)
	case strings.ContainsAny(ifname, "%/: \t\n"):
		// '%' would make TUNSETIFF create a new numbered device instead
		// of attaching to this one; the rest are never valid in a name.
		return fmt.Errorf("tap %q: invalid character in interface name", ifname)
	}
	return nil
}

func checkIfUp(ctl int, ifname string) error {
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return fmt.Errorf("tap %s: %w", ifname, err)
	}
	if err := ioctlIfreq(ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("tap %s: interface %s does not exist in this network namespace: create it with ip tuntap add dev %s mode tap: %w", ifname, ifname, ifname, err)
		}
		return fmt.Errorf("tap %s: SIOCGIFFLAGS: %w", ifname, err)
	}
	if ifr.Uint16()&(unix.IFF_UP|unix.IFF_RUNNING) == 0 {
		return fmt.Errorf("tap %s: interface %s is down: bring it up with ip link set %s up: %w", ifname, ifname, ifname, unix.ENETDOWN)
	}
	return nil
}

func attachTap(fd, ctl int, ifname string, mac MAC) (*Tap, error) {
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", ifname, err)
	}
	// No packet-information header and no vnet header: each read or
	// write is exactly one Ethernet frame, which is what the guest sees.
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := ioctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		switch {
		case errors.Is(err, unix.EBUSY):
			return nil, fmt.Errorf("tap %s: already attached to another process or device: %w", ifname, err)
		case errors.Is(err, unix.EINVAL):
			return nil, fmt.Errorf("tap %s: not a tap device (TUNSETIFF refused IFF_TAP): %w", ifname, err)
		case errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("tap %s: not allowed to attach (need CAP_NET_ADMIN or to own the tap): %w", ifname, err)
		}
		return nil, fmt.Errorf("tap %s: TUNSETIFF: %w", ifname, err)
	}
	if got := ifr.Name(); got != ifname {
		return nil, fmt.Errorf("tap %s: kernel attached to %q instead", ifname, got)
	}
	mtu, err := tapSettings(ctl, ifname)
	if err != nil {
		return nil, err
	}
	return &Tap{name: ifname, mac: mac, mtu: mtu, fd: fd}, nil
}

// tapSettings reads the MTU of the attached tap ifname and switches its
// GRO/GSO offloads off.
func tapSettings(ctl int, ifname string) (mtu int, err error) {
	mtuReq, err := unix.NewIfreq(ifname)
	if err != nil {
		return 0, fmt.Errorf("tap %s: %w", ifname, err)
	}
	if err := ioctlIfreq(ctl, unix.SIOCGIFMTU, mtuReq); err != nil {
		return 0, fmt.Errorf("tap %s: SIOCGIFMTU: %w", ifname, err)
	}
	mtu = int(int32(mtuReq.Uint32()))
	if mtu <= 0 {
		return 0, fmt.Errorf("tap %s: interface reports MTU %d", ifname, mtu)
	}

	if err := offloadOff(ctl, ifname, "GRO", unix.ETHTOOL_SGRO, unix.ETHTOOL_GGRO); err != nil {
		return 0, err
	}
	if err := offloadOff(ctl, ifname, "GSO", unix.ETHTOOL_SGSO, unix.ETHTOOL_GGSO); err != nil {
		return 0, err
	}
	return mtu, nil
}

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqPtr is struct ifreq with ifr_data, the pointer member of the
// union, which unix.Ifreq does not expose. The padding makes it at least
// as large as the kernel's struct, which copies the whole union in.
type ifreqPtr struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

// ethtool issues one SIOCETHTOOL get/set of a struct ethtool_value.
func ethtool(ctl int, ifname string, cmd, data uint32) (uint32, error) {
	// Both live on the heap so the kernel's pointer into ev stays valid
	// for the whole call whatever the goroutine's stack does.
	ev := &ethtoolValue{cmd: cmd, data: data}
	ifr := &ifreqPtr{data: unsafe.Pointer(ev)}
	copy(ifr.name[:], ifname)
	err := ioctlPtr(ctl, unix.SIOCETHTOOL, unsafe.Pointer(ifr))
	runtime.KeepAlive(ev)
	return ev.data, err
}

// offloadOff switches one offload off. EOPNOTSUPP is fine: the device
// has no such aggregation. EPERM is fine when the offload is already
// off, so an unprivileged user can attach a tap they own once an
// administrator has run ethtool -K on it.
func offloadOff(ctl int, ifname, what string, set, get uint32) error {
	_, err := ethtool(ctl, ifname, set, 0)
	switch {
	case err == nil, errors.Is(err, unix.EOPNOTSUPP):
		return nil
	case errors.Is(err, unix.EPERM):
		if on, gerr := ethtool(ctl, ifname, get, 0); gerr == nil && on == 0 {
			return nil
		}
		return fmt.Errorf("tap %s: cannot disable %s (needs CAP_NET_ADMIN; or run ethtool -K %s gro off gso off first): %w", ifname, what, ifname, err)
	}
	return fmt.Errorf("tap %s: disabling %s: %w", ifname, what, err)
}

// ioctlIfreq retries unix.IoctlIfreq on EINTR.
func ioctlIfreq(fd int, req uint, ifr *unix.Ifreq) error {
	for {
		err := unix.IoctlIfreq(fd, req, ifr)
		if err != unix.EINTR {
			return err
		}
	}
}

// ioctlPtr is ioctl(2) with a pointer argument, retried on EINTR.
func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

// Name is the interface name.
func (t *Tap) Name() string { return t.name }

// MAC is the guest's hardware address.
func (t *Tap) MAC() MAC { return t.mac }

// MTU is the interface's MTU when it was attached, without the 14-byte
// Ethernet header.
func (t *Tap) MTU() int { return t.mtu }

// ReadyFD is the tap's file descriptor, or -1 after Close. It polls
// readable while the kernel has a frame queued for the guest.
func (t *Tap) ReadyFD() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.fd
}

// ReadFrame reads one frame without blocking, truncating it to len(p).
// It returns ErrWouldBlock when none is queued (and, like solo5-hvt, for
// a zero-length read).
func (t *Tap) ReadFrame(p []byte) (int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.fd < 0 {
		return 0, fmt.Errorf("tap %s: read: %w", t.name, os.ErrClosed)
	}
	for {
		n, err := unix.Read(t.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, ErrWouldBlock
		case err != nil:
			return 0, fmt.Errorf("tap %s: read: %w", t.name, err)
		case n == 0:
			return 0, ErrWouldBlock
		}
		return n, nil
	}
}

// WriteFrame writes p as one frame with one write(2). The kernel takes a
// tap frame whole or not at all, so a short write is an error, as is any
// failure, EAGAIN included: solo5-hvt treats all of them as fatal, and
// retrying here would hide that from the monitor.
func (t *Tap) WriteFrame(p []byte) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.fd < 0 {
		return fmt.Errorf("tap %s: write: %w", t.name, os.ErrClosed)
	}
	for {
		n, err := unix.Write(t.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("tap %s: write of %d bytes: %w", t.name, len(p), err)
		case n != len(p):
			return fmt.Errorf("tap %s: short write: %d of %d bytes", t.name, n, len(p))
		}
		return nil
	}
}

// Close detaches from the tap; the interface itself stays. Later calls
// return nil; ReadFrame and WriteFrame then fail with an error wrapping
// os.ErrClosed.
func (t *Tap) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fd < 0 {
		return nil
	}
	err := unix.Close(t.fd)
	t.fd = -1
	if err != nil {
		return fmt.Errorf("tap %s: close: %w", t.name, err)
	}
	return nil
}
