package devices

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// RandomMAC returns a random unicast, locally administered Ethernet
// address, made the way solo5-hvt makes one when --net-mac is absent.
func RandomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	// The kernel's generator directly, as crypto/rand would use it:
	// linking crypto/rand would bring its FIPS module's initialisation
	// into every run of the monitor, which costs RSS and start-up time.
	// getrandom never returns fewer than 256 bytes once the pool is
	// initialised and, without GRND_NONBLOCK, waits until it is; on the
	// impossible failure the address is still locally administered.
	_, _ = unix.Getrandom(mac, 0)
	// Clear the group bit (a guest's own address must be unicast) and set
	// the locally administered bit (so it cannot collide with a vendor's
	// globally assigned address).
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// ParseMAC parses a guest's hardware address. Unlike net.ParseMAC it
// accepts only the form xx:xx:xx:xx:xx:xx (six bytes, hex digits in
// either case) and only unicast, non-zero addresses: anything else as a
// guest's own address is a configuration mistake.
func ParseMAC(s string) (net.HardwareAddr, error) {
	const form = "want six colon-separated hex bytes like 02:00:00:00:00:01"
	if len(s) != 17 {
		return nil, fmt.Errorf("invalid MAC address %q: %s", s, form)
	}
	mac := make(net.HardwareAddr, 6)
	for i := range mac {
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 || (i < 5 && s[3*i+2] != ':') {
			return nil, fmt.Errorf("invalid MAC address %q: %s", s, form)
		}
		mac[i] = hi<<4 | lo
	}
	if err := checkGuestMAC(mac); err != nil {
		return nil, fmt.Errorf("invalid MAC address %q: %w", s, err)
	}
	return mac, nil
}

// checkGuestMAC is the rule ParseMAC and the net constructors share for
// a guest's own address.
func checkGuestMAC(mac net.HardwareAddr) error {
	if len(mac) != 6 {
		return fmt.Errorf("%d bytes, an Ethernet address has 6", len(mac))
	}
	if mac[0]&0x01 != 0 {
		return fmt.Errorf("%v is a multicast/broadcast address (low bit of the first byte set); a guest needs a unicast address", mac)
	}
	if mac[0]|mac[1]|mac[2]|mac[3]|mac[4]|mac[5] == 0 {
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
