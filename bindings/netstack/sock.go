package netstack

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// The stack's side of the sockets (see socktab and bindings/socket.go for
// the kernel's): a dispatcher goroutine waits on the doorbell and hands
// each socket with requests to that socket's goroutine, which does the
// work in netstack (bind, listen, connect, accept, moving the rings'
// bytes in and out of the endpoint, options, shutdown, close) and then
// reports (kick). netstack's own events (data arrived,
// room to send, connection established) wake the socket's goroutine
// through its waiter queue.

const (
	streamRing = 64 << 10  // per direction: a window's worth
	dgramRing  = 128 << 10 // holds the largest datagram and its header
)

var (
	bellFile *os.File

	mu     sync.Mutex
	gsocks [socktab.Max]*gsock
	pools  = map[int][][]byte{} // ring buffers for reuse, by size
)

// kick tells the kernel the stack changed sockets; it looks at its next
// system call.
func kick() { socktab.Changed.Store(1) }

func getRing(size int) []byte {
	mu.Lock()
	defer mu.Unlock()
	if l := pools[size]; len(l) > 0 {
		b := l[len(l)-1]
		pools[size] = l[:len(l)-1]
		return b
	}
	return make([]byte, size)
}

func putRing(b []byte) {
	if b == nil {
		return
	}
	mu.Lock()
	pools[len(b)] = append(pools[len(b)], b)
	mu.Unlock()
}

// dispatch reads the doorbell and starts or wakes the sockets with
// requests.
func dispatch() {
	var b [8]byte
	for {
		if _, err := bellFile.Read(b[:]); err != nil {
			fatalf("doorbell: %v", err)
		}
		for i := range socktab.Socks {
			s := &socktab.Socks[i]
			st := s.State.Load()
			if st != socktab.Open && st != socktab.Closing {
				continue
			}
			mu.Lock()
			g := gsocks[i]
			mu.Unlock()
			if g == nil {
				if st == socktab.Closing {
					s.State.Store(socktab.Free) // closed before the stack saw it
					continue
				}
				g = newSock(i, nil, nil)
			}
			if s.Req.Load() != 0 {
				g.poke()
			}
		}
	}
}

// gsock is the stack's state of one socket.
type gsock struct {
	i      int
	s      *socktab.Sock
	ep     tcpip.Endpoint
	wq     *waiter.Queue
	we     waiter.Entry
	rx, tx []byte
	wake   chan struct{}
	stream bool
	err    uint32 // netstack's endpoint could not be made: every call fails with it

	connecting bool
	listening  bool
	shutWr     bool // SHUT_WR asked: FIN once Tx is sent
	pend       []byte
	pendFrom   tcpip.FullAddress
	scratch    []byte
}

// newSock sets up socket i: a new endpoint (ep nil: a socket the
// program made) or an accepted one, its rings, and its goroutine.
func newSock(i int, ep tcpip.Endpoint, wq *waiter.Queue) *gsock {
	s := &socktab.Socks[i]
	g := &gsock{i: i, s: s, ep: ep, wq: wq, wake: make(chan struct{}, 1), stream: s.Type == syscall.SOCK_STREAM}
	if ep == nil {
		g.wq = new(waiter.Queue)
		proto := tcp.ProtocolNumber
		if !g.stream {
			proto = udp.ProtocolNumber
		}
		netProto := ipv4.ProtocolNumber
		if s.Family == syscall.AF_INET6 {
			netProto = ipv6.ProtocolNumber
		}
		var err tcpip.Error
		g.ep, err = theStack.NewEndpoint(proto, netProto, g.wq)
		if err != nil {
			g.err = errno(err)
		}
	}
	size := streamRing
	if !g.stream {
		size = dgramRing
		g.scratch = make([]byte, 65536)
	}
	g.rx, g.tx = getRing(size), getRing(size)
	s.Rx.Buf, s.Rx.Size = bufAddr(g.rx), uint32(size)
	s.Tx.Buf, s.Tx.Size = bufAddr(g.tx), uint32(size)
	if g.ep != nil {
		g.we = waiter.NewFunctionEntry(waiter.ReadableEvents|waiter.WritableEvents|waiter.EventErr|waiter.EventHUp, func(waiter.EventMask) { g.poke() })
		g.wq.EventRegister(&g.we)
	}
	f := uint32(socktab.Ready)
	if ep != nil {
		f |= socktab.Connected | socktab.Bound
		g.addresses()
	}
	if !g.stream && g.ep != nil {
		g.ep.SocketOptions().SetBroadcast(false)
	}
	s.Flags.Or(f)
	s.RxGen.Add(1)
	s.TxGen.Add(1)
	kick() // Ready: a blocking send that found the socket not set up yet waits for this
	mu.Lock()
	gsocks[i] = g
	mu.Unlock()
	go g.run()
	g.poke()
	return g
}

func (g *gsock) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *gsock) run() {
	for range g.wake {
		if g.step() {
			return
		}
	}
}

// addresses records the endpoint's local and remote addresses for
// getsockname and getpeername.
func (g *gsock) addresses() {
	if a, err := g.ep.GetLocalAddress(); err == nil {
		g.s.LocalLen = encodeAddr(g.s.Family, a, &g.s.Local)
	}
	if a, err := g.ep.GetRemoteAddress(); err == nil {
		g.s.RemoteLen = encodeAddr(g.s.Family, a, &g.s.Remote)
	}
}

// step does everything socket g has to do now and reports whether the
// socket is gone.
func (g *gsock) step() bool {
	s := g.s
	req := s.Req.Swap(0)
	if req&socktab.ReqClose != 0 || s.State.Load() == socktab.Closing {
		if req&socktab.ReqOpts != 0 && g.ep != nil {
			g.applyOptions() // SO_LINGER set just before close decides how it closes
		}
		g.close()
		return true
	}
	rx, tx, report := false, false, false
	if g.ep == nil {
		// No endpoint: fail what is asked.
		if req&socktab.ReqSync != 0 {
			g.syncDone(g.err)
		}
		if req&socktab.ReqConnect != 0 {
			s.Flags.And(^uint32(socktab.Connecting))
			s.Err.Store(g.err)
			s.TxGen.Add(1)
		}
		kick()
		return false
	}
	if req&socktab.ReqOpts != 0 {
		g.applyOptions()
	}
	if req&socktab.ReqSync != 0 && s.Sync.State.Load() == socktab.SyncAsked {
		g.applyOptions() // SO_REUSEADDR and IPV6_V6ONLY before bind
		g.doSync()
		report = true
	}
	if req&socktab.ReqConnect != 0 {
		g.applyOptions()
		g.startConnect()
		rx, tx = true, true
	}
	if g.connecting && g.ep.Readiness(waiter.WritableEvents|waiter.EventErr|waiter.EventHUp) != 0 {
		g.connecting = false
		if err := g.ep.LastError(); err != nil {
			g.connectFailed(err)
		} else {
			g.addresses()
			s.Flags.Or(socktab.Connected)
			s.Flags.And(^uint32(socktab.Connecting))
		}
		rx, tx = true, true
	}
	switch {
	case g.listening:
		rx = g.acceptAll() || rx
	case g.connecting, g.stream && s.Flags.Load()&socktab.Connected == 0:
		// No data to move before a stream is connected. Reading the
		// endpoint of a socket that is not connected yet would give
		// ErrNotConnected, which would stay in Err and be what SO_ERROR
		// says after the connect the program makes next.
	case g.stream:
		tx = g.streamTx() || tx
		rx = g.streamRx() || rx
	default:
		tx = g.dgramTx() || tx
		rx = g.dgramRx() || rx
	}
	if req&socktab.ReqShutWr != 0 {
		g.shutWr = true
	}
	if g.shutWr && s.Tx.Len() == 0 {
		g.shutWr = false
		g.ep.Shutdown(tcpip.ShutdownWrite)
		s.Flags.Or(socktab.TxShut)
		tx = true
	}
	if req&socktab.ReqShutRd != 0 {
		g.ep.Shutdown(tcpip.ShutdownRead)
		s.Flags.Or(socktab.RxEOF)
		rx = true
	}
	if rx {
		s.RxGen.Add(1)
	}
	if tx {
		s.TxGen.Add(1)
	}
	if rx || tx || report {
		kick()
	}
	return false
}

func (g *gsock) syncDone(e uint32) {
	g.s.Sync.Result.Store(e)
	g.s.Sync.State.Store(socktab.SyncDone)
}

// doSync does the bind or listen the kernel waits for.
func (g *gsock) doSync() {
	s := g.s
	switch s.Sync.Op.Load() {
	case socktab.OpBind:
		a, bad := decodeAddr(s.Family, s.Arg[:s.ArgLen])
		e := uint32(bad)
		if e == 0 {
			e = errno(g.ep.Bind(a))
		}
		if e == uint32(syscall.EADDRINUSE) && settleCloses() {
			e = errno(g.ep.Bind(a))
		}
		if e == 0 {
			s.Flags.Or(socktab.Bound)
			g.addresses()
		}
		g.syncDone(e)
	case socktab.OpListen:
		backlog := int(s.Backlog)
		if backlog <= 0 || backlog > socktab.AcceptMax {
			backlog = socktab.AcceptMax
		}
		e := errno(g.ep.Listen(backlog))
		if e == 0 {
			g.listening = true
			s.Flags.Or(socktab.Listening | socktab.Bound)
			g.addresses()
			g.acceptAll()
		}
		g.syncDone(e)
	default:
		g.syncDone(uint32(syscall.EINVAL))
	}
}

// settleCloses waits until no socket is being closed (for at most a
// second) and reports whether any was. The kernel's close(2) returns
// before the stack has released the socket (Closing), so a bind that
// finds its address in use may have raced the close of the socket that
// held it, which on Linux is over when close returns (the standard
// library's net tests close a listener and listen again on its port).
func settleCloses() bool {
	waited := false
	for range 1000 {
		busy := false
		for j := range socktab.Socks {
			if socktab.Socks[j].State.Load() == socktab.Closing {
				busy = true
				break
			}
		}
		if !busy {
			return waited
		}
		waited = true
		time.Sleep(time.Millisecond)
	}
	return waited
}

func (g *gsock) startConnect() {
	s := g.s
	a, e := decodeAddr(s.Family, s.Peer[:s.PeerLen])
	if e != 0 {
		g.connectFailed(&tcpip.ErrBadAddress{})
		return
	}
	switch err := g.ep.Connect(a); err.(type) {
	case nil:
		g.addresses()
		s.Flags.Or(socktab.Connected)
		s.Flags.And(^uint32(socktab.Connecting))
	case *tcpip.ErrConnectStarted:
		g.connecting = true
	default:
		g.connectFailed(err)
	}
}

func (g *gsock) connectFailed(err tcpip.Error) {
	e := errno(err)
	if e == 0 {
		e = uint32(syscall.ECONNREFUSED)
	}
	g.s.Err.Store(e)
	g.s.Flags.And(^uint32(socktab.Connecting))
}

// acceptAll moves the connections netstack has accepted into the
// accept queue (as many as it holds).
func (g *gsock) acceptAll() bool {
	s := g.s
	more := false
	for s.AccTail.Load()-s.AccHead.Load() < socktab.AcceptMax {
		nep, nwq, err := g.ep.Accept(nil)
		if err != nil {
			break
		}
		j := reserve()
		if j < 0 {
			nep.Abort() // no socket left: the peer sees a reset, as on ENFILE
			continue
		}
		c := &socktab.Socks[j]
		c.Family, c.Type = s.Family, s.Type
		newSock(j, nep, nwq)
		t := s.AccTail.Load()
		s.Acc[t%socktab.AcceptMax] = uint16(j)
		s.AccTail.Store(t + 1)
		more = true
	}
	return more
}

// reserve takes a free socket for an accepted connection.
func reserve() int {
	for i := range socktab.Socks {
		s := &socktab.Socks[i]
		if s.State.CompareAndSwap(socktab.Free, socktab.Embryo) {
			s.Reset()
			return i
		}
	}
	return -1
}

// streamTx sends what Tx holds.
func (g *gsock) streamTx() bool {
	r := &g.s.Tx
	sent := false
	for r.Len() > 0 {
		h := r.Head.Load()
		off := h & (r.Size - 1)
		seg := g.tx[off:min(off+r.Len(), r.Size)]
		var rd bytes.Reader
		rd.Reset(seg)
		n, err := g.ep.Write(&rd, tcpip.WriteOptions{})
		if n > 0 {
			r.Head.Store(h + uint32(n))
			sent = true
		}
		if err != nil {
			if _, ok := err.(*tcpip.ErrWouldBlock); ok {
				break
			}
			g.s.Err.CompareAndSwap(0, errno(err))
			g.s.Flags.Or(socktab.TxShut)
			r.Head.Store(r.Tail.Load()) // what is left cannot be sent
			return true
		}
		if int(n) < len(seg) {
			break
		}
	}
	return sent
}

// streamRx fills Rx from the endpoint.
func (g *gsock) streamRx() bool {
	s := g.s
	r := &s.Rx
	got := false
	for s.Flags.Load()&socktab.RxEOF == 0 {
		room := r.Room()
		if room == 0 {
			s.Flags.Or(socktab.RxWant)
			return got
		}
		t := r.Tail.Load()
		off := t & (r.Size - 1)
		w := tcpip.SliceWriter(g.rx[off:min(off+room, r.Size)])
		res, err := g.ep.Read(&w, tcpip.ReadOptions{})
		if res.Count > 0 {
			r.Tail.Store(t + uint32(res.Count))
			got = true
		}
		switch err.(type) {
		case nil:
			if res.Count == 0 {
				return got
			}
			continue
		case *tcpip.ErrWouldBlock:
		case *tcpip.ErrClosedForReceive:
			s.Flags.Or(socktab.RxEOF)
			got = true
		default:
			s.Err.CompareAndSwap(0, errno(err))
			s.Flags.Or(socktab.RxEOF)
			got = true
		}
		break
	}
	s.Flags.And(^uint32(socktab.RxWant))
	return got
}

// ringCopy copies between ring buffer buf at free-running offset pos
// and b.
func ringCopy(buf []byte, pos uint32, b []byte, toRing bool) {
	for len(b) > 0 {
		off := int(pos) & (len(buf) - 1)
		var n int
		if toRing {
			n = copy(buf[off:], b)
		} else {
			n = copy(b, buf[off:])
		}
		b = b[n:]
		pos += uint32(n)
	}
}

// dgramTx sends the datagrams Tx holds.
func (g *gsock) dgramTx() bool {
	s := g.s
	r := &s.Tx
	sent := false
	var h [socktab.DgramHeader]byte
	for r.Len() >= socktab.DgramHeader {
		head := r.Head.Load()
		ringCopy(g.tx, head, h[:], false)
		n := binary.LittleEndian.Uint32(h[0:])
		al := min(binary.LittleEndian.Uint32(h[4:]), socktab.AddrMax)
		p := g.scratch[:n]
		ringCopy(g.tx, head+socktab.DgramHeader, p, false)
		var opts tcpip.WriteOptions
		if al > 0 {
			to, e := decodeAddr(s.Family, h[8:8+al])
			if e == 0 {
				opts.To = &to
			}
		}
		var rd bytes.Reader
		rd.Reset(p)
		_, err := g.ep.Write(&rd, opts)
		if _, ok := err.(*tcpip.ErrWouldBlock); ok {
			break
		}
		if err != nil {
			s.Err.CompareAndSwap(0, errno(err)) // Linux reports such errors on the next call too
		}
		r.Head.Store(head + socktab.DgramHeader + n)
		sent = true
	}
	return sent
}

// dgramRx moves received datagrams into Rx, each with its source.
func (g *gsock) dgramRx() bool {
	s := g.s
	r := &s.Rx
	got := false
	for {
		if g.pend == nil {
			w := tcpip.SliceWriter(g.scratch)
			res, err := g.ep.Read(&w, tcpip.ReadOptions{NeedRemoteAddr: true})
			switch err.(type) {
			case nil:
			case *tcpip.ErrWouldBlock, *tcpip.ErrClosedForReceive:
			default:
				// An ICMP error for what the socket sent (port
				// unreachable: ECONNREFUSED), which netstack hands over
				// once, as Linux's next receive does.
				if s.Err.CompareAndSwap(0, errno(err)) {
					got = true
				}
			}
			if err != nil {
				break
			}
			g.pend = append([]byte(nil), g.scratch[:res.Count]...)
			g.pendFrom = res.RemoteAddr
		}
		need := socktab.DgramHeader + uint32(len(g.pend))
		if r.Room() < need {
			s.Flags.Or(socktab.RxWant)
			return got
		}
		var h [socktab.DgramHeader]byte
		var a [socktab.AddrMax]byte
		binary.LittleEndian.PutUint32(h[0:], uint32(len(g.pend)))
		binary.LittleEndian.PutUint32(h[4:], encodeAddr(s.Family, g.pendFrom, &a))
		copy(h[8:], a[:])
		t := r.Tail.Load()
		ringCopy(g.rx, t, h[:], true)
		ringCopy(g.rx, t+socktab.DgramHeader, g.pend, true)
		r.Tail.Store(t + need)
		g.pend = nil
		got = true
	}
	s.Flags.And(^uint32(socktab.RxWant))
	return got
}

// applyOptions gives netstack the options the program set.
func (g *gsock) applyOptions() {
	o := &g.s.Opt
	so := g.ep.SocketOptions()
	so.SetReuseAddress(o[socktab.OptReuseAddr].Load() != 0)
	so.SetReusePort(o[socktab.OptReusePort].Load() != 0)
	if g.s.Family == syscall.AF_INET6 {
		so.SetV6Only(o[socktab.OptV6Only].Load() != 0)
	}
	if !g.stream {
		so.SetBroadcast(o[socktab.OptBroadcast].Load() != 0)
		return
	}
	so.SetDelayOption(o[socktab.OptNoDelay].Load() == 0)
	so.SetKeepAlive(o[socktab.OptKeepAlive].Load() != 0)
	if v := o[socktab.OptKeepIdle].Load(); v > 0 {
		opt := tcpip.KeepaliveIdleOption(time.Duration(v) * time.Second)
		g.ep.SetSockOpt(&opt)
	}
	if v := o[socktab.OptKeepIntvl].Load(); v > 0 {
		opt := tcpip.KeepaliveIntervalOption(time.Duration(v) * time.Second)
		g.ep.SetSockOpt(&opt)
	}
	if v := o[socktab.OptKeepCnt].Load(); v > 0 {
		g.ep.SetSockOptInt(tcpip.KeepaliveCountOption, int(v))
	}
	if v := o[socktab.OptLinger].Load(); v != 0 {
		so.SetLinger(tcpip.LingerOption{Enabled: v < 0, Timeout: time.Duration(v&0x7fffffff) * time.Second})
	}
	if v := o[socktab.OptSndBuf].Load(); v > 0 {
		so.SetSendBufferSize(int64(v), true)
	}
	if v := o[socktab.OptRcvBuf].Load(); v > 0 {
		so.SetReceiveBufferSize(int64(v), true)
	}
}

// close releases the socket: what Tx holds is sent first (netstack sends
// it and the FIN), connections waiting in a listener's queue are closed.
func (g *gsock) close() {
	s := g.s
	if g.ep != nil {
		switch {
		case g.listening:
		case g.stream:
			g.streamTx()
		default:
			g.dgramTx()
		}
		g.wq.EventUnregister(&g.we)
		g.ep.Close()
	}
	if g.listening {
		for h := s.AccHead.Load(); h != s.AccTail.Load(); h++ {
			j := int(s.Acc[h%socktab.AcceptMax])
			c := &socktab.Socks[j]
			c.State.Store(socktab.Closing)
			c.Req.Or(socktab.ReqClose)
			mu.Lock()
			cg := gsocks[j]
			mu.Unlock()
			if cg != nil {
				cg.poke()
			}
		}
	}
	mu.Lock()
	gsocks[g.i] = nil
	mu.Unlock()
	putRing(g.rx)
	putRing(g.tx)
	s.Rx.Clear()
	s.Tx.Clear()
	s.State.Store(socktab.Free)
}
