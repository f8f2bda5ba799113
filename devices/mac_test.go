package devices

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestRandomMAC(t *testing.T) {
	seen := make(map[MAC]bool)
	for range 200 {
		mac := RandomMAC()
		if mac[0]&0x01 != 0 || mac[0]&0x02 == 0 {
			t.Fatalf("RandomMAC %v: want unicast, locally administered", mac)
		}
		if err := checkGuestMAC(mac); err != nil {
			t.Fatalf("RandomMAC %v: %v", mac, err)
		}
		// 46 random bits: a repeat in 200 draws means the bits are not
		// random.
		if seen[mac] {
			t.Fatalf("RandomMAC repeated %v", mac)
		}
		seen[mac] = true
	}
}

func TestMACString(t *testing.T) {
	for _, tc := range []struct {
		mac  MAC
		want string
	}{
		{MAC{}, "00:00:00:00:00:00"},
		{MAC{2, 0, 0, 0, 0, 1}, "02:00:00:00:00:01"},
		{MAC{0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}, "0a:1b:2c:3d:4e:5f"},
		{MAC{0xde, 0xad, 0xbe, 0xef, 0x90, 0x09}, "de:ad:be:ef:90:09"},
		{MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "ff:ff:ff:ff:ff:ff"},
		{MAC{0x01, 0x00, 0x5e, 0x7f, 0x80, 0xf0}, "01:00:5e:7f:80:f0"},
	} {
		got := tc.mac.String()
		if got != tc.want {
			t.Errorf("MAC%v.String() = %q, want %q", [6]byte(tc.mac), got, tc.want)
		}
		// The format is net.HardwareAddr's, which the package no longer
		// links but whose output users (and guests) already print.
		if hw := net.HardwareAddr(tc.mac[:]).String(); got != hw {
			t.Errorf("MAC%v.String() = %q, net.HardwareAddr says %q", [6]byte(tc.mac), got, hw)
		}
		// fmt's verbs go through String too, as in error messages.
		if v, s := fmt.Sprintf("%v", tc.mac), fmt.Sprintf("%s", tc.mac); v != tc.want || s != tc.want {
			t.Errorf("MAC%v formats as %q with %%v and %q with %%s, want %q", [6]byte(tc.mac), v, s, tc.want)
		}
	}
}

func TestParseMAC(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    MAC
		wantMsg string // empty: in is valid
	}{
		{"02:00:00:00:00:01", MAC{2, 0, 0, 0, 0, 1}, ""},
		{"0a:1B:2c:3D:4e:5F", MAC{0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}, ""},
		{"fe:ff:ff:ff:ff:ff", MAC{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{"00:00:00:00:00:01", MAC{0, 0, 0, 0, 0, 1}, ""},
		{"DE:AD:BE:EF:00:00", MAC{0xde, 0xad, 0xbe, 0xef, 0, 0}, ""},
		{"", MAC{}, "six colon-separated hex bytes"},
		{"02:00:00:00:00", MAC{}, "six colon-separated hex bytes"},
		{"02:00:00:00:00:01:02", MAC{}, "six colon-separated hex bytes"},
		{"02-00-00-00-00-01", MAC{}, "six colon-separated hex bytes"},
		{"02:00:00:00:00:0g", MAC{}, "six colon-separated hex bytes"},
		{"0200.0000.0001.00", MAC{}, "six colon-separated hex bytes"},
		{" 02:00:00:00:00:1", MAC{}, "six colon-separated hex bytes"},
		{"2:00:00:00:00:001", MAC{}, "six colon-separated hex bytes"},
		{"02:00:00:00:00:01 ", MAC{}, "six colon-separated hex bytes"},
		{"02:00:00:00:00:-1", MAC{}, "six colon-separated hex bytes"},
		{"02:00:00:00:00:+1", MAC{}, "six colon-separated hex bytes"},
		{"01:00:5e:00:00:01", MAC{}, "multicast"},
		{"ff:ff:ff:ff:ff:ff", MAC{}, "multicast"},
		{"00:00:00:00:00:00", MAC{}, "all-zero"},
	} {
		got, err := ParseMAC(tc.in)
		if tc.wantMsg == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseMAC(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseMAC(%q) = %v, want an error", tc.in, got)
			continue
		}
		if got != (MAC{}) {
			t.Errorf("ParseMAC(%q) = %v with error %v, want the zero MAC", tc.in, got, err)
		}
		if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("ParseMAC(%q): error %q should quote the input and say %q", tc.in, err, tc.wantMsg)
		}
	}
}

// TestMACRoundTrip: String's output parses back to the same address,
// for every address a guest may have, and what ParseMAC accepts prints
// back in lower case.
func TestMACRoundTrip(t *testing.T) {
	macs := []MAC{{2, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 1}, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}}
	for range 100 {
		macs = append(macs, RandomMAC())
	}
	for _, mac := range macs {
		got, err := ParseMAC(mac.String())
		if err != nil || got != mac {
			t.Errorf("ParseMAC(%q) = %v, %v; want %v", mac.String(), got, err, mac)
		}
	}
	if got, err := ParseMAC("0A:1B:2C:3D:4E:5F"); err != nil || got.String() != "0a:1b:2c:3d:4e:5f" {
		t.Errorf("ParseMAC(upper case).String() = %q, %v", got.String(), err)
	}
}
