package netstack

import (
	"encoding/binary"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// Socket addresses in Linux's layout (sockaddr_in, sockaddr_in6), as the
// kernel passes them through socktab, to and from netstack's.

// decodeAddr reads a sockaddr of family fam. An AF_INET6 socket's
// v4-mapped address (::ffff:a.b.c.d) stays an IPv6 address: netstack's
// dual-stack endpoints take it as such. The unspecified address becomes
// netstack's empty one (any).
func decodeAddr(fam uint32, b []byte) (tcpip.FullAddress, int) {
	var a tcpip.FullAddress
	switch {
	case fam == syscall.AF_INET && len(b) >= 8:
		a.Port = binary.BigEndian.Uint16(b[2:])
		if ip := [4]byte(b[4:8]); ip != [4]byte{} {
			a.Addr = tcpip.AddrFrom4(ip)
		}
	case fam == syscall.AF_INET6 && len(b) >= 24:
		a.Port = binary.BigEndian.Uint16(b[2:])
		if ip := [16]byte(b[8:24]); ip != [16]byte{} {
			a.Addr = tcpip.AddrFrom16(ip)
		}
	default:
		return a, int(syscall.EINVAL)
	}
	return a, 0
}

// encodeAddr writes a as a sockaddr of family fam into dst and returns
// its length; an IPv4 address on an AF_INET6 socket is v4-mapped.
func encodeAddr(fam uint32, a tcpip.FullAddress, dst *[socktab.AddrMax]byte) uint32 {
	*dst = [socktab.AddrMax]byte{}
	binary.LittleEndian.PutUint16(dst[0:], uint16(fam))
	binary.BigEndian.PutUint16(dst[2:], a.Port)
	ip := a.Addr.AsSlice()
	if fam == syscall.AF_INET {
		if len(ip) == 16 && isV4Mapped(ip) {
			ip = ip[12:]
		}
		if len(ip) == 4 {
			copy(dst[4:8], ip)
		}
		return 16
	}
	switch len(ip) {
	case 4:
		dst[18], dst[19] = 0xff, 0xff
		copy(dst[20:24], ip)
	case 16:
		copy(dst[8:24], ip)
	}
	return 28
}

func isV4Mapped(ip []byte) bool {
	for _, c := range ip[:10] {
		if c != 0 {
			return false
		}
	}
	return ip[10] == 0xff && ip[11] == 0xff
}

// errno is the Linux error number of a netstack error, as the sentry
// translates it (gVisor's syserr.TranslateNetstackError, which this
// package does not import: it brings in safecopy's signal handling), 0
// for nil.
func errno(err tcpip.Error) uint32 {
	var e syscall.Errno
	switch err.(type) {
	case nil:
		return 0
	case *tcpip.ErrWouldBlock:
		e = syscall.EAGAIN
	case *tcpip.ErrConnectionRefused:
		e = syscall.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		e = syscall.ECONNRESET
	case *tcpip.ErrConnectionAborted:
		e = syscall.ECONNABORTED
	case *tcpip.ErrAborted:
		e = syscall.EPIPE // a reset in CLOSE-WAIT: Linux's tcp_reset says EPIPE
	case *tcpip.ErrPortInUse:
		e = syscall.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		e = syscall.EADDRNOTAVAIL
	case *tcpip.ErrNoPortAvailable:
		e = syscall.EAGAIN
	case *tcpip.ErrTimeout:
		e = syscall.ETIMEDOUT
	case *tcpip.ErrNetworkUnreachable:
		e = syscall.ENETUNREACH
	case *tcpip.ErrNoNet:
		e = syscall.ENONET
	case *tcpip.ErrHostUnreachable:
		e = syscall.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		e = syscall.EHOSTDOWN
	case *tcpip.ErrClosedForSend:
		e = syscall.EPIPE
	case *tcpip.ErrClosedForReceive:
		e = 0
	case *tcpip.ErrNotConnected:
		e = syscall.ENOTCONN
	case *tcpip.ErrAlreadyConnected:
		e = syscall.EISCONN
	case *tcpip.ErrAlreadyConnecting:
		e = syscall.EALREADY
	case *tcpip.ErrConnectStarted:
		e = syscall.EINPROGRESS
	case *tcpip.ErrAddressFamilyNotSupported:
		e = syscall.EAFNOSUPPORT
	case *tcpip.ErrMessageTooLong:
		e = syscall.EMSGSIZE
	case *tcpip.ErrDestinationRequired:
		e = syscall.EDESTADDRREQ
	case *tcpip.ErrBroadcastDisabled:
		e = syscall.EACCES
	case *tcpip.ErrNotPermitted:
		e = syscall.EPERM
	case *tcpip.ErrNoBufferSpace:
		e = syscall.ENOBUFS
	case *tcpip.ErrNotSupported:
		e = syscall.EOPNOTSUPP
	case *tcpip.ErrQueueSizeNotSupported:
		e = syscall.ENOTTY
	case *tcpip.ErrUnknownNICID, *tcpip.ErrUnknownDevice:
		e = syscall.ENODEV
	case *tcpip.ErrDuplicateAddress, *tcpip.ErrDuplicateNICID:
		e = syscall.EEXIST
	case *tcpip.ErrNoSuchFile:
		e = syscall.ENOENT
	case *tcpip.ErrBadBuffer, *tcpip.ErrBadAddress:
		e = syscall.EFAULT
	case *tcpip.ErrEndpointBusy:
		e = syscall.EBUSY
	case *tcpip.ErrUnknownProtocolOption:
		e = syscall.ENOPROTOOPT
	default: // ErrAlreadyBound, ErrInvalidEndpointState, ErrInvalidOptionValue...
		e = syscall.EINVAL
	}
	return uint32(e)
}
