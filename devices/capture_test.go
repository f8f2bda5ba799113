package devices_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/unimon/unimon/devices"
)

// Frames in both directions, from two goroutines at once, all end up in
// the capture, each once and whole, and the pipe still carries them.
func TestCaptureBothDirections(t *testing.T) {
	a, b, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	var buf bytes.Buffer
	c, err := devices.Capture(a, &buf)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	frame := func(dir, i int) []byte {
		f := make([]byte, 60+i)
		f[0], f[1] = byte(dir), byte(i)
		return f
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the guest's side sends through the capture
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := c.WriteFrame(frame(1, i)); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() { // the host's side sends, the guest's side reads through the capture
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := b.WriteFrame(frame(2, i)); err != nil {
				t.Error(err)
			}
			p := make([]byte, 1600)
			for {
				k, err := c.ReadFrame(p)
				if errors.Is(err, devices.ErrWouldBlock) {
					continue
				}
				if err != nil || !bytes.Equal(p[:k], frame(2, i)) {
					t.Errorf("read %d: %v", i, err)
				}
				break
			}
		}
	}()
	wg.Wait()
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.CaptureLength != len(data) || ci.Length != len(data) {
			t.Errorf("frame of %d bytes recorded as %d/%d", len(data), ci.CaptureLength, ci.Length)
		}
		seen[fmt.Sprint(data[0], data[1], len(data))] = true
	}
	if len(seen) != 2*n {
		t.Errorf("%d distinct frames in the capture, want %d", len(seen), 2*n)
	}
}

// A capture whose writer fails stops capturing and says why; frames
// still flow.
func TestCaptureWriteError(t *testing.T) {
	a, b, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	if _, err := devices.Capture(a, failWriter{}); err == nil {
		t.Fatal("Capture with a failing writer: no error for the header")
	}
	w := &limitWriter{n: 24} // the header fits, the first frame does not
	c, err := devices.Capture(a, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFrame(make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if c.Err() == nil {
		t.Error("no capture error after the writer failed")
	}
	if k, err := b.ReadFrame(make([]byte, 100)); err != nil || k != 60 {
		t.Errorf("frame did not get through: %d, %v", k, err)
	}
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

type limitWriter struct{ n int }

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// Capture a pipe's frames into a pcap stream.
func ExampleCapture() {
	guest, host, _ := devices.NewPipe(devices.PipeOptions{})
	defer guest.Close()
	defer host.Close()
	var pcap bytes.Buffer
	c, _ := devices.Capture(guest, &pcap) // give c to the monitor instead of guest
	c.WriteFrame(make([]byte, 60))
	r, _ := pcapgo.NewReader(&pcap)
	data, _, _ := r.ReadPacketData()
	fmt.Println(len(data), "bytes captured")
	// Output: 60 bytes captured
}

// tcpdump, the reader users point at --net-pcap files, reads a capture
// of real frames (built with gopacket) and decodes each of them.
func TestCaptureReadByTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Fatal("tcpdump is missing: make deps installs it")
	}
	a, b, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := devices.Capture(a, f)
	if err != nil {
		t.Fatal(err)
	}
	mac1 := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	mac2 := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	ip1, ip2 := net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4()
	arp := serialize(t, &layers.Ethernet{SrcMAC: mac1, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: mac1, SourceProtAddress: ip1,
			DstHwAddress: make([]byte, 6), DstProtAddress: ip2})
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: ip2, DstIP: ip1}
	udp := &layers.UDP{SrcPort: 4000, DstPort: 5000}
	udp.SetNetworkLayerForChecksum(ip)
	reply := serialize(t, &layers.Ethernet{SrcMAC: mac2, DstMAC: mac1, EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload("hello"))
	if err := c.WriteFrame(arp); err != nil { // guest to host
		t.Fatal(err)
	}
	if err := b.WriteFrame(reply); err != nil { // host to guest
		t.Fatal(err)
	}
	if k, err := c.ReadFrame(make([]byte, 1600)); err != nil || k != len(reply) {
		t.Fatalf("ReadFrame: %d, %v", k, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tcpdump, "-nn", "-r", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ARP, Request who-has 10.0.0.2 tell 10.0.0.1",
		"IP 10.0.0.2.4000 > 10.0.0.1.5000: UDP, length 5",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tcpdump does not show %q:\n%s", want, out)
		}
	}
}

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
