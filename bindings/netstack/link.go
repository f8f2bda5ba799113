package netstack

import (
	"os"
	"sync"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// devLink is a netstack link endpoint over a Solo5 net device opened as
// a file (one Ethernet frame per read and write). netstack's ethernet
// endpoint wraps it and adds and removes the Ethernet header, so MTU here
// counts the header. Frames are read by a goroutine that parks in the Go
// runtime's netpoller while the device is quiet (an idle stack costs no
// CPU) and written synchronously by whichever goroutine sends.
type devLink struct {
	f   *os.File
	mtu uint32 // the device's MTU plus the Ethernet header
	mac tcpip.LinkAddress

	mu   sync.Mutex // guards d and wbuf
	d    stack.NetworkDispatcher
	wbuf []byte
	once sync.Once
}

func newDevLink(f *os.File, mac [6]byte, mtu uint32) *devLink {
	return &devLink{f: f, mtu: mtu + header.EthernetMinimumSize, mac: tcpip.LinkAddress(mac[:]), wbuf: make([]byte, mtu+header.EthernetMinimumSize)}
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

func (l *devLink) receive() {
	buf := make([]byte, l.mtu)
	for {
		n, err := l.f.Read(buf)
		if err != nil {
			fatalf("reading net device: %v", err)
		}
		if n < header.EthernetMinimumSize {
			continue
		}
		l.mu.Lock()
		d := l.d
		l.mu.Unlock()
		if d == nil {
			continue
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(append([]byte(nil), buf[:n]...))})
		d.DeliverNetworkPacket(0, pkt)
		pkt.DecRef()
	}
}

// WritePackets sends each packet as one frame.
func (l *devLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, pkt := range pkts.AsSlice() {
		b := l.wbuf[:0]
		for _, s := range pkt.AsSlices() {
			b = append(b, s...)
		}
		if len(b) > int(l.mtu) {
			continue // netstack keeps to the MTU; a frame larger cannot be sent
		}
		if _, err := l.f.Write(b); err != nil {
			if n == 0 {
				return 0, &tcpip.ErrClosedForSend{}
			}
			break
		}
		n++
	}
	return n, nil
}
