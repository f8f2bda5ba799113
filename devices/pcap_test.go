package devices

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The writer's bytes are the format's, field by field, and gopacket's
// reader (an implementation of its own) reads back every frame with its
// time to the microsecond and its lengths, a frame over the snapshot
// length cut to it with its original length kept.
func TestPcapWriter(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name            string
		frameLen        int
		capLen, origLen uint32
	}{
		{"minimum Ethernet frame", 60, 60, 60},
		{"full 1500-byte MTU", 1514, 1514, 1514},
		{"empty", 0, 0, 0},
		{"exactly the snapshot length", pcapSnapLen, pcapSnapLen, pcapSnapLen},
		{"over the snapshot length", pcapSnapLen + 100, pcapSnapLen, pcapSnapLen + 100},
	}
	var buf bytes.Buffer
	w, err := newPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []byte{
		0xd4, 0xc3, 0xb2, 0xa1, // magic, microseconds, little-endian
		2, 0, 4, 0, // version 2.4
		0, 0, 0, 0, 0, 0, 0, 0, // thiszone, sigfigs
		0, 0, 1, 0, // snaplen 65536
		1, 0, 0, 0, // LINKTYPE_ETHERNET
	}
	if got := buf.Bytes(); !bytes.Equal(got, wantHeader) {
		t.Fatalf("file header % x, want % x", got, wantHeader)
	}
	for i, tt := range tests {
		frame := make([]byte, tt.frameLen)
		for j := range frame {
			frame[j] = byte(i + j)
		}
		start := buf.Len()
		if err := w.writeFrame(at, frame); err != nil {
			t.Fatal(err)
		}
		rec := buf.Bytes()[start:]
		le := binary.LittleEndian
		if sec, usec := le.Uint32(rec[0:]), le.Uint32(rec[4:]); sec != uint32(at.Unix()) || usec != 123456 {
			t.Errorf("%s: time %d.%06d, want %d.123456", tt.name, sec, usec, at.Unix())
		}
		if c, o := le.Uint32(rec[8:]), le.Uint32(rec[12:]); c != tt.capLen || o != tt.origLen {
			t.Errorf("%s: lengths %d/%d, want %d/%d", tt.name, c, o, tt.capLen, tt.origLen)
		}
		if len(rec) != pcapRecordHeaderLen+int(tt.capLen) {
			t.Errorf("%s: record of %d bytes, want %d", tt.name, len(rec), pcapRecordHeaderLen+tt.capLen)
		}
	}

	r, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != pcapSnapLen {
		t.Errorf("pcapgo reads link type %v, snaplen %d", r.LinkType(), r.Snaplen())
	}
	for i, tt := range tests {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("%s: pcapgo: %v", tt.name, err)
		}
		if !ci.Timestamp.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("%s: pcapgo reads time %v, want %v", tt.name, ci.Timestamp, at.Truncate(time.Microsecond))
		}
		if len(data) != int(tt.capLen) || ci.Length != int(tt.origLen) || (len(data) > 0 && data[0] != byte(i)) {
			t.Errorf("%s: pcapgo reads %d bytes of %d (first %v)", tt.name, len(data), ci.Length, data[:min(1, len(data))])
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
}

// Each record reaches the writer in one Write: a reader of a pipe never
// gets a record header without its frame.
func TestPcapRecordOneWrite(t *testing.T) {
	var writes []int
	w, err := newPcapWriter(writerFunc(func(p []byte) (int, error) {
		writes = append(writes, len(p))
		return len(p), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{60, 1514, 9000} {
		if err := w.writeFrame(time.Now(), make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	want := []int{pcapFileHeaderLen, 16 + 60, 16 + 1514, 16 + 9000}
	if len(writes) != len(want) {
		t.Fatalf("writes %v, want %v", writes, want)
	}
	for i := range want {
		if writes[i] != want[i] {
			t.Errorf("writes %v, want %v", writes, want)
		}
	}
	frame := make([]byte, 1514)
	if n := testing.AllocsPerRun(100, func() { w.writeFrame(time.Now(), frame) }); n != 0 {
		t.Errorf("writeFrame allocates %.0f times per frame", n)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
