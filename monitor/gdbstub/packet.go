package gdbstub

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrProtocol is returned (wrapped) for bytes that break the remote
// serial protocol's framing.
var ErrProtocol = errors.New("gdb remote protocol error")

// maxPacket bounds a packet from gdb (gdb sends at most the PacketSize
// the stub announces, plus framing); anything longer is refused.
const maxPacket = 0x4000

// interruptByte is what gdb sends for Ctrl-C, outside any packet.
const interruptByte = 0x03

// conn frames packets over the byte stream from gdb: $data#cs, with
// acknowledgements until gdb turns them off (QStartNoAckMode).
type conn struct {
	r     *bufio.Reader
	w     io.Writer
	noAck bool
}

// readPacket returns the next packet's data. Interrupt bytes between
// packets are dropped: the reader goroutine has already acted on them.
func (c *conn) readPacket() ([]byte, error) {
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch b {
		case '$':
		case '+', '-', interruptByte:
			continue
		default:
			continue // noise between packets
		}
		var data []byte
		for {
			b, err := c.r.ReadByte()
			if err != nil {
				return nil, err
			}
			if b == '#' {
				break
			}
			if len(data) >= maxPacket {
				return nil, fmt.Errorf("%w: packet longer than %d bytes", ErrProtocol, maxPacket)
			}
			data = append(data, b)
		}
		var cs [2]byte
		if _, err := io.ReadFull(c.r, cs[:]); err != nil {
			return nil, err
		}
		if c.noAck {
			return data, nil
		}
		want := fmt.Sprintf("%02x", checksum(data))
		if !bytes.EqualFold(cs[:], []byte(want)) {
			if _, err := c.w.Write([]byte{'-'}); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := c.w.Write([]byte{'+'}); err != nil {
			return nil, err
		}
		return data, nil
	}
}

// writePacket sends data as one packet, escaping what must be escaped.
// In ack mode gdb's '+' is consumed by the next readPacket.
func (c *conn) writePacket(data []byte) error {
	var b bytes.Buffer
	b.WriteByte('$')
	var sum byte
	for _, d := range data {
		if d == '$' || d == '#' || d == '}' || d == '*' {
			b.WriteByte('}')
			sum += '}'
			d ^= 0x20
		}
		b.WriteByte(d)
		sum += d
	}
	fmt.Fprintf(&b, "#%02x", sum)
	_, err := c.w.Write(b.Bytes())
	return err
}

func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}
