package hypercall

import (
	"errors"
	"fmt"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Net is the net module: NET_WRITE and NET_READ on the guest's NET_BASIC
// devices, whose readiness POLL reports through the Core's wait set.
type Net struct {
	devs map[int]devices.Net
	core *Core
	// info is filled by Register: the MTU is read once, as the manifest
	// told it to the guest once.
	info map[int]netInfo
}

// netInfo is one device with its largest accepted frame.
type netInfo struct {
	dev      devices.Net
	maxFrame uint64
}

// NewNet returns the net module for devs, keyed by manifest handle
// (1..63), whose ReadyFDs go into core's POLL wait set. The map is copied;
// Register checks it.
func NewNet(devs map[int]devices.Net, core *Core) *Net {
	n := &Net{devs: make(map[int]devices.Net, len(devs)), core: core}
	for h, d := range devs {
		n.devs[h] = d
	}
	return n
}

// Register checks every device (handle, MTU 1..65535, ReadyFD), adds each
// device's ReadyFD to the Core's wait set and registers NET_WRITE and
// NET_READ with d. On failure nothing is added or registered.
func (n *Net) Register(d *Dispatcher) error {
	if n.core == nil {
		return errors.New("hypercall net: no core module to add the devices' ready fds to")
	}
	info := make(map[int]netInfo, len(n.devs))
	fds := make(map[int]int, len(n.devs))
	for h, dev := range n.devs {
		if !validHandle(h) {
			return fmt.Errorf("hypercall net: handle %d is not a manifest index (1..%d)", h, guestabi.ManifestMaxEntries-1)
		}
		if dev == nil {
			return fmt.Errorf("hypercall net: device %d is nil", h)
		}
		// The manifest's MTU field is a uint16.
		mtu := dev.MTU()
		if mtu < 1 || mtu > 0xffff {
			return fmt.Errorf("hypercall net: device %d: MTU %d out of range 1..65535", h, mtu)
		}
		info[h] = netInfo{dev: dev, maxFrame: uint64(mtu) + guestabi.EthernetHeaderSize}
		fds[h] = dev.ReadyFD()
	}
	calls := []registration{
		{guestabi.HypercallNetWrite, n.write},
		{guestabi.HypercallNetRead, n.read},
	}
	if err := d.registerAll(calls); err != nil {
		return err
	}
	if err := n.core.addPollables(fds); err != nil {
		d.unregisterAll(calls)
		return fmt.Errorf("hypercall net: %w", err)
	}
	n.info = info
	return nil
}

// device returns the NET_BASIC device a guest handle names, if any.
func (n *Net) device(handle uint64) (netInfo, bool) {
	h, ok := deviceHandle(handle)
	if !ok {
		return netInfo{}, false
	}
	dev, ok := n.info[h]
	return dev, ok
}

// setNetResult stores len and ret into the argument struct. It decodes the
// struct again rather than reusing the copy read before the I/O, so that
// only the OUT fields change even when a NET_READ's buffer overlaps its own
// argument struct, as upstream (which stores t->len and t->ret alone).
func setNetResult(b []byte, setLen bool, length uint64, ret guestabi.Result) {
	var st guestabi.NetIO
	st.Decode(b)
	if setLen {
		st.Len = length
	}
	st.Ret = ret
	st.Encode(b)
}

// netCall is a NET_* request whose argument struct and buffer passed
// their checks.
type netCall struct {
	s   []byte // the argument struct
	req guestabi.NetIO
	dev netInfo
	buf []byte // [data, data+len)
}

// open checks a NET_* call as upstream does: the argument struct (fatal
// if bad; it must be writable, for ret), the handle (EINVAL, answered
// here), then the buffer (fatal; writable for NET_READ, which fills it).
// ok is false when the call is already answered or failed.
func (n *Net) open(mem *guestmem.Memory, call guestabi.Hypercall, arg uint64) (c netCall, ok bool, err error) {
	if c.s, err = checkedWritable(mem, call, arg, guestabi.NetIOSize); err != nil {
		return c, false, err
	}
	c.req.Decode(c.s)
	if c.dev, ok = n.device(c.req.Handle); !ok {
		setNetResult(c.s, false, 0, guestabi.ResultEINVAL)
		return c, false, nil
	}
	access := checked
	if call == guestabi.HypercallNetRead {
		access = checkedWritable
	}
	if c.buf, err = access(mem, call, c.req.Data, c.req.Len); err != nil {
		return c, false, err
	}
	return c, true, nil
}

// write is NET_WRITE.
func (n *Net) write(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	const call = guestabi.HypercallNetWrite
	c, ok, err := n.open(mem, call, arg)
	if !ok {
		return nil, err
	}
	s, req, dev, frame := c.s, c.req, c.dev, c.buf
	// Deliberate hardening: upstream's tender passes any length to
	// write(2), and a tap refuses a frame shorter than its Ethernet header
	// or longer than MTU + 14 with an error upstream treats as fatal. The
	// Solo5 API allows at most MTU + 14 bytes, so either is the guest's
	// invalid argument: it gets EINVAL, and backends never see such a
	// frame.
	if req.Len < guestabi.EthernetHeaderSize || req.Len > dev.maxFrame {
		setNetResult(s, false, 0, guestabi.ResultEINVAL)
		return nil, nil
	}
	if err := dev.dev.WriteFrame(frame); err != nil {
		return nil, &Error{Call: call, Err: fmt.Errorf("writing a %d-byte frame to device %d: %w", len(frame), req.Handle, err)}
	}
	setNetResult(s, false, 0, guestabi.ResultOK)
	return nil, nil
}

// read is NET_READ.
func (n *Net) read(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	const call = guestabi.HypercallNetRead
	c, ok, err := n.open(mem, call, arg)
	if !ok {
		return nil, err
	}
	s, req, dev, buf := c.s, c.req, c.dev, c.buf
	got, err := dev.dev.ReadFrame(buf)
	switch {
	case errors.Is(err, devices.ErrWouldBlock) || err == nil && got == 0:
		// No frame (upstream: read(2) returning EAGAIN or 0). len is left
		// as the guest set it, as upstream.
		setNetResult(s, false, 0, guestabi.ResultAgain)
		return nil, nil
	case err != nil:
		return nil, &Error{Call: call, Err: fmt.Errorf("reading a frame of up to %d bytes from device %d: %w", len(buf), req.Handle, err)}
	case got < 0 || got > len(buf):
		// A backend bug, but its count would go to the guest as a length.
		return nil, &Error{Call: call, Err: fmt.Errorf("reading a frame of up to %d bytes from device %d: device returned length %d", len(buf), req.Handle, got)}
	}
	setNetResult(s, true, uint64(got), guestabi.ResultOK)
	return nil, nil
}
