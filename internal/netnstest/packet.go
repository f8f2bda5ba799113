package netnstest

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoFrame is returned by (*Packet).Read when no frame came in time.
var ErrNoFrame = errors.New("netnstest: no frame before the timeout")

// Packet is a raw AF_PACKET socket bound to one interface of a
// namespace: it sees every frame on that link, in both directions, and
// a frame written to it leaves through the interface. On a tap, that
// makes it the far end of whatever holds the tap, such as a guest.
type Packet struct {
	fd int
}

// Packet opens a packet socket on ifname inside the namespace; the test
// fails if it cannot, and the socket is closed when the test ends.
func (ns *NS) Packet(ifname string) *Packet {
	ns.t.Helper()
	p := &Packet{fd: -1}
	err := ns.Do(func() error {
		const ethPAll = 0x0003
		proto := ethPAll<<8&0xff00 | ethPAll>>8 // network byte order
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		// Looked up on this thread, which is inside the namespace.
		ifi, err := net.InterfaceByName(ifname)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index})
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		p.fd = fd
		return nil
	})
	if err != nil {
		ns.t.Fatalf("netnstest: packet socket on %s: %v", ifname, err)
	}
	ns.t.Cleanup(func() { unix.Close(p.fd) })
	return p
}

// Write sends one Ethernet frame out through the interface.
func (p *Packet) Write(frame []byte) error {
	if _, err := unix.Write(p.fd, frame); err != nil {
		return fmt.Errorf("netnstest: sending a %d-byte frame: %w", len(frame), err)
	}
	return nil
}

// Read waits up to timeout for the next frame on the link, either way.
func (p *Packet) Read(b []byte, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, ErrNoFrame
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("netnstest: waiting for a frame: %w", err)
		}
		if n > 0 {
			return unix.Read(p.fd, b)
		}
	}
}
