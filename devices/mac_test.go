package devices

import (
	"bytes"
	"strings"
	"testing"
)

func TestRandomMAC(t *testing.T) {
	seen := make(map[string]bool)
	for range 200 {
		mac := RandomMAC()
		if len(mac) != 6 {
			t.Fatalf("RandomMAC length %d", len(mac))
		}
		if mac[0]&0x01 != 0 || mac[0]&0x02 == 0 {
			t.Fatalf("RandomMAC %v: want unicast, locally administered", mac)
		}
		if err := checkGuestMAC(mac); err != nil {
			t.Fatalf("RandomMAC %v: %v", mac, err)
		}
		// 46 random bits: a repeat in 200 draws means the bits are not
		// random.
		if seen[mac.String()] {
			t.Fatalf("RandomMAC repeated %v", mac)
		}
		seen[mac.String()] = true
	}
}

func TestParseMAC(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []byte
		wantMsg string
	}{
		{"02:00:00:00:00:01", []byte{2, 0, 0, 0, 0, 1}, ""},
		{"0a:1B:2c:3D:4e:5F", []byte{0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}, ""},
		{"fe:ff:ff:ff:ff:ff", []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{"00:00:00:00:00:01", []byte{0, 0, 0, 0, 0, 1}, ""},
		{"", nil, "six colon-separated hex bytes"},
		{"02:00:00:00:00", nil, "six colon-separated hex bytes"},
		{"02:00:00:00:00:01:02", nil, "six colon-separated hex bytes"},
		{"02-00-00-00-00-01", nil, "six colon-separated hex bytes"},
		{"02:00:00:00:00:0g", nil, "six colon-separated hex bytes"},
		{"0200.0000.0001.00", nil, "six colon-separated hex bytes"},
		{" 02:00:00:00:00:1", nil, "six colon-separated hex bytes"},
		{"2:00:00:00:00:001", nil, "six colon-separated hex bytes"},
		{"01:00:5e:00:00:01", nil, "multicast"},
		{"ff:ff:ff:ff:ff:ff", nil, "multicast"},
		{"00:00:00:00:00:00", nil, "all-zero"},
	} {
		got, err := ParseMAC(tc.in)
		if tc.want != nil {
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("ParseMAC(%q) = %v, %v; want %x", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseMAC(%q) = %v, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("ParseMAC(%q): error %q should quote the input and say %q", tc.in, err, tc.wantMsg)
		}
	}
}
