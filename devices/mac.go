package devices

import (
	"errors"
	"fmt"
)

// MAC is a guest's Ethernet address: exactly the six bytes Solo5's
// NET_INFO hands the guest. It is a value, not a slice (nor
// net.HardwareAddr, whose package this one does not link: issue 12), so
// it is copied, compared with == and used as a map key like any array,
// and a device can return its own without a defensive copy.
//
// The zero MAC is not a usable address (ParseMAC refuses it, as it does
// multicast ones), so where a constructor takes a guest's MAC (OpenTap,
// OpenTapFD, PipeOptions.MACs) the zero value means "pick one with
// RandomMAC".
type MAC [6]byte

// String formats m as net.HardwareAddr's String does: six lower-case hex
// bytes separated by colons, such as "02:00:00:00:00:01". ParseMAC
// reads back that of any address a guest may have.
func (m MAC) String() string {
	const digits = "0123456789abcdef"
	var b [3*len(m) - 1]byte
	for i, c := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i], b[3*i+1] = digits[c>>4], digits[c&0xf]
	}
	return string(b[:])
}

// RandomMAC returns a random unicast, locally administered Ethernet
// address, made the way solo5-hvt makes one when --net-mac is absent.
func RandomMAC() MAC {
	var mac MAC
	// The kernel's generator directly, as crypto/rand would use it:
	// linking crypto/rand would bring its FIPS module's initialisation
	// into every run of the monitor, which costs RSS and start-up time.
	// getrandom never returns fewer than 256 bytes once the pool is
	// initialised and, without GRND_NONBLOCK, waits until it is; on the
	// impossible failure the address is still locally administered (and,
	// with that bit set, never the zero MAC).
	fillRandom(mac[:])
	// Clear the group bit (a guest's own address must be unicast) and set
	// the locally administered bit (so it cannot collide with a vendor's
	// globally assigned address).
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// ParseMAC parses a guest's hardware address. Unlike net.ParseMAC it
// accepts only the form xx:xx:xx:xx:xx:xx (six bytes, hex digits in
// either case) and only unicast, non-zero addresses: anything else as a
// guest's own address is a configuration mistake. On error it returns
// the zero MAC.
func ParseMAC(s string) (MAC, error) {
	const form = "want six colon-separated hex bytes like 02:00:00:00:00:01"
	var mac MAC
	if len(s) != 3*len(mac)-1 {
		return MAC{}, fmt.Errorf("invalid MAC address %q: %s", s, form)
	}
	for i := range mac {
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 || (i < len(mac)-1 && s[3*i+2] != ':') {
			return MAC{}, fmt.Errorf("invalid MAC address %q: %s", s, form)
		}
		mac[i] = hi<<4 | lo
	}
	if err := checkGuestMAC(mac); err != nil {
		return MAC{}, fmt.Errorf("invalid MAC address %q: %w", s, err)
	}
	return mac, nil
}

// checkGuestMAC is the rule ParseMAC and the net constructors share for
// a guest's own address.
func checkGuestMAC(mac MAC) error {
	if mac[0]&0x01 != 0 {
		return fmt.Errorf("%v is a multicast/broadcast address (low bit of the first byte set); a guest needs a unicast address", mac)
	}
	if mac == (MAC{}) {
		return errors.New("all-zero address is not usable")
	}
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
