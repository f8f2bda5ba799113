package devices

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Capture returns a Net that is n with every frame it carries, in both
// directions, also written to w as a pcap stream (Ethernet link type,
// microsecond timestamps, frames of up to 64 KiB whole), which tcpdump -r
// and Wireshark read; it needs no libpcap.
//
// The capture does not own n: closing the returned Net does not close n.
// A write error on w ends the capture (frames still flow); Err reports
// it.
func Capture(n Net, w io.Writer) (*CaptureNet, error) {
	pw, err := newPcapWriter(w)
	if err != nil {
		return nil, err
	}
	return &CaptureNet{n: n, w: pw}, nil
}

// CaptureNet is a Net whose frames are captured (see Capture).
type CaptureNet struct {
	n  Net
	mu sync.Mutex // guards w and err: frames come from both directions
	w  *pcapWriter
	// err is the first write error of the capture.
	err error
}

func (c *CaptureNet) record(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if err := c.w.writeFrame(time.Now(), frame); err != nil {
		c.err = fmt.Errorf("pcap: %w", err)
	}
}

// ReadFrame is n's, captured.
func (c *CaptureNet) ReadFrame(p []byte) (int, error) {
	k, err := c.n.ReadFrame(p)
	if err == nil {
		c.record(p[:k])
	}
	return k, err
}

// WriteFrame is n's, captured.
func (c *CaptureNet) WriteFrame(p []byte) error {
	err := c.n.WriteFrame(p)
	if err == nil {
		c.record(p)
	}
	return err
}

// MAC is n's.
func (c *CaptureNet) MAC() MAC { return c.n.MAC() }

// MTU is n's.
func (c *CaptureNet) MTU() int { return c.n.MTU() }

// ReadyFD is n's.
func (c *CaptureNet) ReadyFD() int { return c.n.ReadyFD() }

// Close ends the capture (not n) and returns its write error, if any.
func (c *CaptureNet) Close() error { return c.Err() }

// Err is the capture's first write error.
func (c *CaptureNet) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
