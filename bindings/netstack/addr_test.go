package netstack

import (
	"syscall"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// Socket addresses go from Linux's layout to netstack's and back.
func TestAddrRoundTrip(t *testing.T) {
	v4 := tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
	v6 := tcpip.AddrFrom16([16]byte{0xfd, 15: 2})
	for _, tc := range []struct {
		name string
		fam  uint32
		in   tcpip.FullAddress
		out  tcpip.FullAddress // what decoding the encoding gives
		n    uint32
	}{
		{"ipv4", syscall.AF_INET, tcpip.FullAddress{Addr: v4, Port: 8080}, tcpip.FullAddress{Addr: v4, Port: 8080}, 16},
		{"ipv4 any", syscall.AF_INET, tcpip.FullAddress{Port: 53}, tcpip.FullAddress{Port: 53}, 16},
		{"ipv6", syscall.AF_INET6, tcpip.FullAddress{Addr: v6, Port: 443}, tcpip.FullAddress{Addr: v6, Port: 443}, 28},
		{"ipv4 on an ipv6 socket is v4-mapped", syscall.AF_INET6, tcpip.FullAddress{Addr: v4, Port: 1},
			tcpip.FullAddress{Addr: tcpip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 2}), Port: 1}, 28},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b [socktab.AddrMax]byte
			n := encodeAddr(tc.fam, tc.in, &b)
			if n != tc.n || uint32(b[0])|uint32(b[1])<<8 != tc.fam {
				t.Fatalf("encoded %d bytes, family %d: % x", n, b[0], b[:n])
			}
			got, e := decodeAddr(tc.fam, b[:n])
			if e != 0 || got != tc.out {
				t.Errorf("decoded %+v (errno %d), want %+v", got, e, tc.out)
			}
		})
	}
	if _, e := decodeAddr(syscall.AF_INET6, make([]byte, 16)); e != int(syscall.EINVAL) {
		t.Errorf("a 16-byte AF_INET6 address: errno %d, want EINVAL", e)
	}
}

// netstack's errors are the errno values Go's net package maps.
func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		err  tcpip.Error
		want syscall.Errno
	}{
		{nil, 0},
		{&tcpip.ErrConnectionRefused{}, syscall.ECONNREFUSED},
		{&tcpip.ErrConnectionReset{}, syscall.ECONNRESET},
		{&tcpip.ErrPortInUse{}, syscall.EADDRINUSE},
		{&tcpip.ErrTimeout{}, syscall.ETIMEDOUT},
		{&tcpip.ErrNetworkUnreachable{}, syscall.ENETUNREACH},
		{&tcpip.ErrClosedForSend{}, syscall.EPIPE},
		{&tcpip.ErrConnectStarted{}, syscall.EINPROGRESS},
		// Where Linux's answer is not the obvious one, as the sentry says.
		{&tcpip.ErrAlreadyBound{}, syscall.EINVAL},
		{&tcpip.ErrAborted{}, syscall.EPIPE},
		{&tcpip.ErrConnectionAborted{}, syscall.ECONNABORTED},
		{&tcpip.ErrNoNet{}, syscall.ENONET},
		{&tcpip.ErrNotPermitted{}, syscall.EPERM},
		{&tcpip.ErrBroadcastDisabled{}, syscall.EACCES},
		{&tcpip.ErrBadAddress{}, syscall.EFAULT},
		{&tcpip.ErrUnknownNICID{}, syscall.ENODEV},
		{&tcpip.ErrClosedForReceive{}, 0},
	} {
		if got := errno(tc.err); got != uint32(tc.want) {
			t.Errorf("errno(%v) = %d, want %d (%v)", tc.err, got, tc.want, tc.want)
		}
	}
}
