package gdbstub

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadPacket(t *testing.T) {
	tests := []struct {
		name, in string
		noAck    bool
		want     []string // packets, in order
		acks     string   // what the stub answers
		err      error
	}{
		{name: "one", in: "$?#3f", want: []string{"?"}, acks: "+"},
		{name: "noise and Ctrl-C first", in: "+x\x03$g#67", want: []string{"g"}, acks: "+"},
		{name: "bad checksum asks again", in: "$g#00$g#67", want: []string{"g"}, acks: "-+"},
		{name: "upper-case checksum", in: "$m0,1#FA", want: []string{"m0,1"}, acks: "+"},
		{name: "no-ack mode ignores the checksum", in: "$g#zz", noAck: true, want: []string{"g"}},
		{name: "eof inside a packet", in: "$g", err: io.EOF},
		{name: "too long", in: "$" + strings.Repeat("a", maxPacket+1) + "#00", err: ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := conn{r: bufio.NewReader(strings.NewReader(tt.in)), w: &out, noAck: tt.noAck}
			for _, w := range tt.want {
				p, err := c.readPacket()
				if err != nil || string(p) != w {
					t.Fatalf("readPacket = %q, %v; want %q", p, err, w)
				}
			}
			if tt.err != nil {
				if _, err := c.readPacket(); !errors.Is(err, tt.err) {
					t.Fatalf("readPacket error %v, want %v", err, tt.err)
				}
			}
			if out.String() != tt.acks {
				t.Errorf("acks %q, want %q", out.String(), tt.acks)
			}
		})
	}
}

func TestWritePacketEscapes(t *testing.T) {
	var out bytes.Buffer
	c := conn{w: &out}
	if err := c.writePacket([]byte("a#b$c}d*")); err != nil {
		t.Fatal(err)
	}
	body := "a}\x03b}\x04c}]d}\x0a"
	want := "$" + body + "#"
	if got := out.String(); !strings.HasPrefix(got, want) || got[len(want):] != hex2(checksum([]byte(body))) {
		t.Errorf("writePacket wrote %q, want %q + checksum", got, want)
	}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func TestAddrLen(t *testing.T) {
	for _, tt := range []struct {
		in   string
		a, n uint64
		ok   bool
	}{
		{"1000,10", 0x1000, 0x10, true},
		{"ffff800000000000,8", 0xffff800000000000, 8, true},
		{"1000", 0, 0, false},
		{"x,1", 0, 0, false},
		{"1,10000000000000000", 0, 0, false},
	} {
		a, n, ok := addrLen(tt.in)
		if ok != tt.ok || (ok && (a != tt.a || n != tt.n)) {
			t.Errorf("addrLen(%q) = %#x, %#x, %v", tt.in, a, n, ok)
		}
	}
}
