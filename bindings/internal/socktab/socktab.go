// Package socktab is the memory the bindings' kernel and the network
// stack (package bindings/netstack) share to serve the socket system
// calls.
//
// The kernel runs on the trap path: it cannot allocate, take Go locks or
// wait for a goroutine. The stack is ordinary Go (gVisor's netstack)
// that allocates and locks. So the two meet in fixed arrays of plain
// numbers, one Sock per socket, that the kernel reads and writes in its
// system call handlers and the stack's goroutines read and write in
// between:
//
//   - data moves through two single-producer single-consumer byte rings
//     per socket: Rx (the stack produces, read/recvfrom consume in the
//     kernel) and Tx (write/sendto produce in the kernel, the stack
//     consumes), so reads and writes never wait for the stack;
//   - the kernel asks the stack for work with request bits (Req) and a
//     doorbell fd the stack waits on through the Go runtime's netpoller;
//   - the stack reports with status bits (Flags), a pending error (Err),
//     generation counters that give epoll's edges (RxGen, TxGen), the
//     accept queue, and Changed, which makes the kernel re-evaluate
//     readiness and wake waiting threads at its next system call.
//
// There is one CPU: the kernel runs while the program is stopped, so a
// kernel handler is atomic with respect to the stack's goroutines; the
// goroutines use atomic operations (one instruction each, which a trap
// cannot split) on the fields both sides write.
package socktab

import "sync/atomic"

// Sizes.
const (
	// Max is the number of sockets.
	Max = 512
	// AcceptMax is the longest accept queue (connections the stack has
	// accepted and the program has not).
	AcceptMax = 256
	// AddrMax is the largest socket address (sockaddr_in6).
	AddrMax = 28
	// DgramHeader precedes each datagram in a ring: the payload length
	// (4 bytes, little-endian), the address length (4 bytes) and the
	// address (AddrMax bytes, Linux's sockaddr layout).
	DgramHeader = 8 + AddrMax
)

// Sock.State values.
const (
	Free    = 0 // unused
	Open    = 1 // an fd of the program refers to it
	Closing = 2 // the fd is closed; the stack releases the socket, then sets Free
	Embryo  = 3 // accepted by the stack, waiting in a listener's accept queue
)

// Sock.Req bits: work the kernel asks of the stack.
const (
	ReqSync    = 1 << iota // a synchronous operation (Sync.Op) waits
	ReqConnect             // connect to Peer (asynchronous)
	ReqTx                  // Tx has new data
	ReqRxSpace             // Rx has room again
	ReqOpts                // an option in Opt changed
	ReqShutRd              // shutdown(SHUT_RD)
	ReqShutWr              // shutdown(SHUT_WR): send what Tx holds, then FIN
	ReqClose               // the fd is closed
)

// Sock.Flags bits: what the stack reports.
const (
	Ready      = 1 << iota // the stack has set up the socket (rings, endpoint)
	Bound                  // Local holds the bound address
	Listening              // listen succeeded
	Connecting             // a connect is in progress
	Connected              // connected (stream) or has a default peer (datagram)
	RxEOF                  // no more data will arrive (FIN, shutdown, reset)
	TxShut                 // nothing more can be sent
	RxWant                 // the stack holds data Rx had no room for
)

// Sync.Op values: the operations the calling thread waits for.
const (
	OpBind   = 1
	OpListen = 2
)

// Sync.State values.
const (
	SyncIdle  = 0
	SyncAsked = 1
	SyncDone  = 2
)

// Opt indexes: socket options the kernel records for the stack to apply
// (Linux answers getsockopt with them too).
const (
	OptNoDelay = iota
	OptKeepAlive
	OptKeepIdle
	OptKeepIntvl
	OptKeepCnt
	OptReuseAddr
	OptReusePort
	OptV6Only
	OptBroadcast
	OptRcvBuf
	OptSndBuf
	OptLinger // l_onoff<<31 | l_linger seconds
	NumOpts
)

// Ring is a byte ring in the program's memory. Buf and Size are set by
// the stack before it sets Ready and never change while the socket is
// open. Head and Tail run freely (they wrap at 2^32); Tail-Head bytes
// are in the ring, at offsets taken modulo Size.
type Ring struct {
	Buf  uintptr // Size bytes of the stack's Go heap (kept alive by the stack)
	Size uint32  // a power of two
	Head atomic.Uint32
	Tail atomic.Uint32
}

// Len is how many bytes the ring holds.
func (r *Ring) Len() uint32 { return r.Tail.Load() - r.Head.Load() }

// Clear empties the ring and forgets its buffer.
func (r *Ring) Clear() {
	r.Buf, r.Size = 0, 0
	r.Head.Store(0)
	r.Tail.Store(0)
}

// Room is how many bytes fit.
func (r *Ring) Room() uint32 { return r.Size - r.Len() }

// Sync is one synchronous operation: the kernel fills Op and the
// arguments and sets State to SyncAsked; the stack does it, sets Result
// (0 or a positive errno) and State SyncDone; the kernel returns the
// result and sets SyncIdle.
type Sync struct {
	Op     atomic.Uint32
	State  atomic.Uint32
	Result atomic.Uint32
}

// Sock is one socket's shared state.
type Sock struct {
	State  atomic.Uint32
	Family uint32 // AF_INET or AF_INET6 (set while Free, by whoever takes it)
	Type   uint32 // SOCK_STREAM or SOCK_DGRAM
	Req    atomic.Uint32
	Flags  atomic.Uint32
	Err    atomic.Uint32 // pending error (positive errno): SO_ERROR, the next read or write
	RxGen  atomic.Uint32 // bumped by the stack when there is more to read (or EOF, an error, a connection)
	TxGen  atomic.Uint32 // bumped by the stack when there is room to write (or a connect ended)
	Sync   Sync

	Arg     [AddrMax]byte // bind's address
	ArgLen  uint32
	Backlog int32         // listen's
	Peer    [AddrMax]byte // connect's address
	PeerLen uint32

	// Local and Remote are the addresses getsockname and getpeername
	// report; the stack writes them before it reports (Flags, gens).
	Local     [AddrMax]byte
	LocalLen  uint32
	Remote    [AddrMax]byte
	RemoteLen uint32

	Rx, Tx Ring

	// Accept queue of a listener: socket indexes (Embryo) the stack
	// adds at AccTail, accept4 takes at AccHead.
	Acc     [AcceptMax]uint16
	AccHead atomic.Uint32
	AccTail atomic.Uint32

	Opt [NumOpts]atomic.Int32
}

// Socks are the sockets.
var Socks [Max]Sock

// Changed is set by the stack when it changed sockets (more data, more
// room, an operation done). The kernel looks at it on every system call
// (the stack's goroutines make one before the program can be idle:
// blocking in the netpoller is one), so reporting costs the stack no
// system call of its own.
var Changed atomic.Uint32

// Reset clears a socket's state for its next use; the caller has taken
// it (State is not Free and no other party uses it).
func (s *Sock) Reset() {
	s.Req.Store(0)
	s.Flags.Store(0)
	s.Err.Store(0)
	s.RxGen.Store(1)
	s.TxGen.Store(1)
	s.Sync.Op.Store(0)
	s.Sync.State.Store(SyncIdle)
	s.Sync.Result.Store(0)
	s.ArgLen, s.PeerLen, s.LocalLen, s.RemoteLen, s.Backlog = 0, 0, 0, 0, 0
	s.Rx.Clear()
	s.Tx.Clear()
	s.AccHead.Store(0)
	s.AccTail.Store(0)
	for i := range s.Opt {
		s.Opt[i].Store(0)
	}
}

// Network configuration the kernel takes from the command line (the
// --unimon: options) for the stack, which parses the values. Each
// entry is one option word's value, in command-line order, tagged with
// its option.
const (
	CfgIPv4 = iota + 1
	CfgIPv4Gateway
	CfgDNS
	CfgHostname
	CfgNet
	CfgIPv6
)

// CfgMax bounds the configuration entries, CfgValueMax each value.
const (
	CfgMax      = 32
	CfgValueMax = 128
)

// CfgEntry is one configuration option.
type CfgEntry struct {
	Kind uint32
	Len  uint32
	Val  [CfgValueMax]byte
}

// Config is the network configuration from the command line.
var (
	Config  [CfgMax]CfgEntry
	NConfig int
)

// AddConfig records an option's value; false if there is no room.
func AddConfig(kind uint32, val []byte) bool {
	if NConfig == CfgMax || len(val) > CfgValueMax {
		return false
	}
	e := &Config[NConfig]
	e.Kind = kind
	e.Len = uint32(copy(e.Val[:], val))
	NConfig++
	return true
}

// Files the net package reads, generated by the stack from the
// configuration before main runs and served read-only by the kernel; and
// /proc/self/auxv, which the kernel itself writes as it starts the
// program.
const (
	FileResolvConf = iota
	FileHosts
	FileNsswitch
	FileHostname
	FileSomaxconn
	FileAuxv
	NumFiles
)

// FileMax bounds a generated file.
const FileMax = 2048

// GenFile is a generated file's content.
type GenFile struct {
	Len   atomic.Uint32 // 0 until the stack wrote it: the file does not exist
	MTime atomic.Int64  // when it was last written, ns since the epoch: the net package rereads resolv.conf when it changes
	Data  [FileMax]byte
}

// Files are the generated files.
var Files [NumFiles]GenFile

// Hostname is what uname reports as the node name (Len 0: "unikernel").
var Hostname struct {
	Len  uint32
	Name [64]byte
}

// Interfaces holds what net.Interfaces and net.InterfaceAddrs report
// (the kernel answers netlink's RTM_GETLINK and RTM_GETADDR from it).
// The stack writes it once, before main runs.
type Iface struct {
	Index  uint32
	Flags  uint32 // net.Flags bits as Linux IFF_ values
	MTU    uint32
	MAC    [6]byte
	Name   [16]byte
	NAddrs uint32
	Addrs  [4]IfAddr
}

// IfAddr is one address of an interface.
type IfAddr struct {
	Family uint32 // AF_INET or AF_INET6
	Prefix uint32
	Addr   [16]byte
}

// Ifaces are the interfaces, NIfaces of them.
var (
	Ifaces  [4]Iface
	NIfaces atomic.Uint32
)

// NetDev is a net device of the manifest, as the kernel found it at boot.
type NetDev struct {
	Name    [NetDevNameMax]byte
	NameLen uint32
	MAC     [6]byte
	MTU     uint32
}

// NetDevNameMax bounds a device name (Solo5's limit is lower).
const NetDevNameMax = 80

// NetDevs are the manifest's attached net devices, NNetDevs of them.
var (
	NetDevs  [8]NetDev
	NNetDevs int
)

// Booted is set by the kernel at boot: the program runs as a unikernel
// (in an ordinary process the stack does nothing).
var Booted bool
