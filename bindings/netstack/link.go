package netstack

import (
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// devLink is a netstack link endpoint over a Solo5 net device opened as
// a file. netstack's ethernet endpoint wraps it and adds and removes the
// Ethernet header, so MTU here counts the header.
//
// Frames move in batches, one frame per message of recvmmsg and
// sendmmsg (which the bindings implement for net devices): a system call
// is a trap into the kernel, which costs far more than the hypercall of
// a frame, so a TCP window's worth of segments is one call. Received
// frames are read by a goroutine that parks in the Go runtime's
// netpoller while the device is quiet (an idle stack costs no CPU);
// frames to send come in batches from netstack's queueing discipline.
type devLink struct {
	f   *os.File
	rc  syscall.RawConn
	mtu uint32 // the device's MTU plus the Ethernet header
	mac tcpip.LinkAddress

	mu   sync.Mutex // guards d
	d    stack.NetworkDispatcher
	once sync.Once

	wmu  sync.Mutex // guards the send batch
	wmsg [batch]mmsghdr
	wiov [batch]syscall.Iovec
	wbuf [batch][]byte
}

// batch is the most frames one system call moves.
const batch = 32

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   uint32
}

func newDevLink(f *os.File, mac [6]byte, mtu uint32) (*devLink, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	l := &devLink{f: f, rc: rc, mtu: mtu + header.EthernetMinimumSize, mac: tcpip.LinkAddress(mac[:])}
	for i := range l.wbuf {
		l.wbuf[i] = make([]byte, l.mtu)
		l.wmsg[i].hdr.Iov = &l.wiov[i]
		l.wmsg[i].hdr.Iovlen = 1
	}
	return l, nil
}

func (l *devLink) MTU() uint32                                  { return l.mtu }
func (l *devLink) SetMTU(uint32)                                {}
func (l *devLink) MaxHeaderLength() uint16                      { return 0 }
func (l *devLink) LinkAddress() tcpip.LinkAddress               { return l.mac }
func (l *devLink) SetLinkAddress(a tcpip.LinkAddress)           { l.mac = a }
func (l *devLink) Capabilities() stack.LinkEndpointCapabilities { return 0 }
func (l *devLink) Wait()                                        {}
func (l *devLink) ARPHardwareType() header.ARPHardwareType      { return header.ARPHardwareNone }
func (l *devLink) AddHeader(*stack.PacketBuffer)                {}
func (l *devLink) ParseHeader(*stack.PacketBuffer) bool         { return true }
func (l *devLink) Close()                                       {}
func (l *devLink) SetOnCloseAction(func())                      {}

func (l *devLink) IsAttached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d != nil
}

// Attach starts delivering received frames to d.
func (l *devLink) Attach(d stack.NetworkDispatcher) {
	l.mu.Lock()
	l.d = d
	l.mu.Unlock()
	if d != nil {
		l.once.Do(func() { go l.receive() })
	}
}

// receive reads batches of frames and delivers them. (A batch that
// emptied the device is still followed by a read that finds nothing:
// the runtime forgets readiness reported before a read starts, so
// waiting without reading first could miss the frame that made the
// device ready again.)
func (l *devLink) receive() {
	var msgs [batch]mmsghdr
	var iovs [batch]syscall.Iovec
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, l.mtu)
		iovs[i] = syscall.Iovec{Base: &bufs[i][0]}
		iovs[i].SetLen(len(bufs[i]))
		msgs[i].hdr.Iov = &iovs[i]
		msgs[i].hdr.Iovlen = 1
	}
	for {
		var n int
		var errno syscall.Errno
		err := l.rc.Read(func(fd uintptr) bool {
			r, _, e := syscall.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), batch, 0, 0, 0)
			if e == syscall.EAGAIN {
				return false
			}
			n, errno = int(r), e
			return true
		})
		if err == nil && errno != 0 {
			err = errno
		}
		if err != nil {
			fatalf("reading net device: %v", err)
		}
		l.mu.Lock()
		d := l.d
		l.mu.Unlock()
		for i := 0; i < n; i++ {
			k := int(msgs[i].len)
			if d == nil || k < header.EthernetMinimumSize {
				continue
			}
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(append([]byte(nil), bufs[i][:k]...))})
			d.DeliverNetworkPacket(0, pkt)
			pkt.DecRef()
		}
	}
}

// WritePackets sends the packets, a batch per system call.
func (l *devLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	all := pkts.AsSlice()
	sent := 0
	for sent < len(all) {
		n := 0
		for n < batch && sent+n < len(all) {
			b := l.wbuf[n][:0]
			for _, s := range all[sent+n].AsSlices() {
				b = append(b, s...)
			}
			if len(b) > int(l.mtu) {
				b = b[:0] // netstack keeps to the MTU; an empty frame is refused below
			}
			l.wiov[n] = syscall.Iovec{Base: unsafe.SliceData(l.wbuf[n])}
			l.wiov[n].SetLen(len(b))
			n++
		}
		var k int
		var errno syscall.Errno
		err := l.rc.Write(func(fd uintptr) bool {
			r, _, e := syscall.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&l.wmsg[0])), uintptr(n), 0, 0, 0)
			k, errno = int(r), e
			return true
		})
		if err != nil || errno != 0 || k == 0 {
			if sent == 0 {
				return 0, &tcpip.ErrClosedForSend{}
			}
			break
		}
		sent += k
		if k < n {
			sent++ // a frame the device refused is dropped, as a NIC drops it
		}
	}
	return sent, nil
}
