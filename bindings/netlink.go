//go:build linux

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// Netlink: just enough of NETLINK_ROUTE for net.Interfaces and
// net.InterfaceAddrs, which dump the links (RTM_GETLINK) and addresses
// (RTM_GETADDR) through a netlink socket: bind, sendto the request,
// getsockname, then recvfrom until NLMSG_DONE. The answer is built from
// the interfaces the network stack configured (socktab.Ifaces). Anything
// else sent is answered with NLMSG_DONE alone.

const (
	_NETLINK_ROUTE = 0
	_RTM_NEWLINK   = 16
	_RTM_GETLINK   = 18
	_RTM_NEWADDR   = 20
	_RTM_GETADDR   = 22
	_NLMSG_DONE    = 3
	_NLM_F_MULTI   = 2
	_IFLA_ADDRESS  = 1
	_IFLA_IFNAME   = 3
	_IFLA_MTU      = 4
	_IFA_ADDRESS   = 1
	_IFA_LOCAL     = 2
	_ARPHRD_ETHER  = 1
	_ARPHRD_LOOP   = 772
	_IFF_LOOPBACK  = 8

	// netlinkPid is the port id of every netlink socket (there is one
	// process).
	netlinkPid = 1
)

// nl is the state of the netlink fds: the request each asked (fdEntry
// count holds the sequence number, handle the request type).
var nlBuf [4096]byte

func netlinkSocket(typ, proto int) int64 {
	if typ&^(_SOCK_NONBLOCK|_SOCK_CLOEXEC) != _SOCK_RAW && typ&^(_SOCK_NONBLOCK|_SOCK_CLOEXEC) != _SOCK_DGRAM {
		return -_ESOCKTNOSUPPORT
	}
	if proto != _NETLINK_ROUTE {
		return -_EPROTONOSUPPORT
	}
	fd := fdAlloc(fdNetlink)
	if fd >= 0 {
		fdAt(fd).flags = uint32(typ & _O_NONBLOCK)
	}
	return fd
}

// netlinkWrite takes a request: its type and sequence number.
func netlinkWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	var h [16]byte
	if n < 16 || !copyIn(unsafe.Pointer(&h), buf, 16) {
		return -_EINVAL
	}
	e.handle = uint32(h[4]) | uint32(h[5])<<8
	e.count = uint64(uint32(h[8]) | uint32(h[9])<<8 | uint32(h[10])<<16 | uint32(h[11])<<24)
	e.pos = 1 // an answer is waiting
	return int64(n)
}

// netlinkRead returns the whole answer to the last request at once.
func netlinkRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if e.pos == 0 {
		return -_EAGAIN
	}
	e.pos = 0
	b := nlBuf[:]
	l := 0
	ni := min(int(socktab.NIfaces.Load()), len(socktab.Ifaces))
	for i := 0; i < ni; i++ {
		f := &socktab.Ifaces[i]
		switch e.handle {
		case _RTM_GETLINK:
			l = nlLink(b, l, f, uint32(e.count))
		case _RTM_GETADDR:
			for j := 0; j < int(min(f.NAddrs, uint32(len(f.Addrs)))); j++ {
				l = nlAddr(b, l, f, &f.Addrs[j], uint32(e.count))
			}
		}
	}
	s := l
	l = nlHeader(b, l, _NLMSG_DONE, uint32(e.count))
	l += 4 // the error field, 0
	nlFinish(b, s, l)
	c := min(uintptr(l), n)
	if !copyOut(buf, unsafe.Pointer(&nlBuf), c) {
		return -_EFAULT
	}
	return int64(c)
}

func le16(b []byte, v uint32) { b[0], b[1] = byte(v), byte(v>>8) }
func le32(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }

// nlHeader starts a message at l (its length is set by nlFinish).
func nlHeader(b []byte, l int, typ, seq uint32) int {
	if l+16 > len(b) {
		return l
	}
	clear(b[l : l+16])
	le16(b[l+4:], typ)
	le16(b[l+6:], _NLM_F_MULTI)
	le32(b[l+8:], seq)
	le32(b[l+12:], netlinkPid)
	return l + 16
}

// nlFinish sets the length of the message from s to l.
func nlFinish(b []byte, s, l int) {
	if s+4 <= len(b) {
		le32(b[s:], uint32(l-s))
	}
}

// nlAttr appends an attribute, padded to 4 bytes.
func nlAttr(b []byte, l int, typ uint32, v []byte) int {
	n := 4 + len(v)
	pad := (n + 3) &^ 3
	if l+pad > len(b) {
		return l
	}
	clear(b[l : l+pad])
	le16(b[l:], uint32(n))
	le16(b[l+2:], typ)
	copy(b[l+4:], v)
	return l + pad
}

func nlLink(b []byte, l int, f *socktab.Iface, seq uint32) int {
	s := l
	l = nlHeader(b, l, _RTM_NEWLINK, seq)
	if l+16 > len(b) {
		return s
	}
	clear(b[l : l+16])
	hw := uint32(_ARPHRD_ETHER)
	if f.Flags&_IFF_LOOPBACK != 0 {
		hw = _ARPHRD_LOOP
	}
	le16(b[l+2:], hw)
	le32(b[l+4:], f.Index)
	le32(b[l+8:], f.Flags)
	l += 16
	l = nlAttr(b, l, _IFLA_ADDRESS, f.MAC[:])
	n := 0
	for n < len(f.Name) && f.Name[n] != 0 {
		n++
	}
	var name [17]byte
	copy(name[:], f.Name[:n])
	l = nlAttr(b, l, _IFLA_IFNAME, name[:n+1])
	var mtu [4]byte
	le32(mtu[:], f.MTU)
	l = nlAttr(b, l, _IFLA_MTU, mtu[:])
	nlFinish(b, s, l)
	return l
}

func nlAddr(b []byte, l int, f *socktab.Iface, a *socktab.IfAddr, seq uint32) int {
	s := l
	l = nlHeader(b, l, _RTM_NEWADDR, seq)
	if l+8 > len(b) {
		return s
	}
	b[l], b[l+1], b[l+2], b[l+3] = byte(a.Family), byte(a.Prefix), 0, 0
	le32(b[l+4:], f.Index)
	l += 8
	n := 4
	if a.Family == _AF_INET6 {
		n = 16
	}
	l = nlAttr(b, l, _IFA_ADDRESS, a.Addr[:n])
	if a.Family == _AF_INET {
		l = nlAttr(b, l, _IFA_LOCAL, a.Addr[:n])
	}
	nlFinish(b, s, l)
	return l
}

// netlinkFd returns fd's entry if it is a netlink socket.
func netlinkFd(fd uintptr) *fdEntry {
	if e := fdGet(fd); e != nil && e.kind == fdNetlink {
		return e
	}
	return nil
}

// netlinkName writes the socket's address (sockaddr_nl) for
// getsockname and recvfrom: pid is the socket's, or 0 for the kernel.
func netlinkName(pid uint32, addr, lenp uintptr) int64 {
	var sa [socktab.AddrMax]byte
	sa[0] = _AF_NETLINK
	le32(sa[4:], pid)
	return putAddr(&sa, 12, addr, lenp)
}
