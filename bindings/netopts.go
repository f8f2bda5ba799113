//go:build linux

package bindings

import (
	"github.com/unimon/unimon/bindings/internal/socktab"
	"github.com/unimon/unimon/guestabi"
)

// The network options (see options.go for the table): the kernel only
// records their values, in order, for the network stack
// (bindings/netstack), which parses them before main runs and stops the
// unikernel with a clear message when one is wrong. The host name is the
// kernel's own (uname).

func optNet(val []byte) bool  { return len(val) > 0 && socktab.AddConfig(socktab.CfgNet, val) }
func optIPv4(val []byte) bool { return len(val) > 0 && socktab.AddConfig(socktab.CfgIPv4, val) }
func optIPv4Gateway(val []byte) bool {
	return len(val) > 0 && socktab.AddConfig(socktab.CfgIPv4Gateway, val)
}
func optIPv6(val []byte) bool { return len(val) > 0 && socktab.AddConfig(socktab.CfgIPv6, val) }
func optDNS(val []byte) bool  { return len(val) > 0 && socktab.AddConfig(socktab.CfgDNS, val) }

// optHostname sets the host name: 1 to 63 letters, digits, '-' and '.'.
func optHostname(val []byte) bool {
	if len(val) == 0 || len(val) >= len(socktab.Hostname.Name) {
		return false
	}
	for _, c := range val {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	socktab.Hostname.Len = uint32(copy(socktab.Hostname.Name[:], val))
	return true
}

// initNetDevs lists the manifest's attached net devices for the stack.
func initNetDevs() {
	socktab.Booted = true
	for i := 1; i < guestabi.ManifestMaxEntries && socktab.NNetDevs < len(socktab.NetDevs); i++ {
		e := mftEntry(i)
		if e == 0 {
			break
		}
		if *(*uint32)(ptr(e + guestabi.EntryTypeOff)) != mftTypeNet || *(*byte)(ptr(e + guestabi.EntryAttachedOff)) == 0 {
			continue
		}
		d := &socktab.NetDevs[socktab.NNetDevs]
		name := (*[guestabi.DeviceNameSize]byte)(ptr(e))
		n := 0
		for n < len(name) && n < len(d.Name) && name[n] != 0 {
			n++
		}
		d.NameLen = uint32(copy(d.Name[:], name[:n]))
		d.MAC = *(*[6]byte)(ptr(e + guestabi.EntryMACOff))
		d.MTU = uint32(*(*uint16)(ptr(e + guestabi.EntryMTUOff)))
		socktab.NNetDevs++
	}
}
