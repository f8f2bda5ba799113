// Package gdbstub serves gdb's remote serial protocol for one stopped
// guest, so that `target remote` in gdb debugs a unikernel: registers,
// memory at guest virtual addresses, software and hardware breakpoints,
// watchpoints, single step, continue, Ctrl-C, kill and detach.
//
// The stub does not run the guest. Its owner (the monitor's vCPU loop)
// calls Stopped whenever the guest stops for the debugger; Stopped
// reports the stop to gdb and serves gdb's requests until gdb resumes the
// guest, and returns how: continue, step, kill or detach. While the guest
// runs, a goroutine watches the connection for Ctrl-C and calls the
// owner's interrupt function.
//
// Software breakpoints are int3 bytes written into guest memory when the
// guest resumes and taken out when it stops, so gdb and core files never
// see them. gdb disconnecting without detaching ends the session as a
// kill: the guest never runs on unobserved with breakpoints in it.
package gdbstub

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// sigTrap is the signal of breakpoint and step stops.
const sigTrap = 5

// ErrDisconnected is returned by Stopped when gdb closed the connection
// without detaching.
var ErrDisconnected = errors.New("gdb disconnected")

// Action is what gdb asked for when it resumed the guest.
type Action int

// The actions Stopped returns.
const (
	Continue Action = iota // run until the next stop
	Step                   // run one instruction
	Kill                   // end the guest
	Detach                 // run on, without the debugger
)

// Stub is one gdb session over one connection.
type Stub struct {
	nc        io.ReadWriteCloser
	c         conn
	t         Target
	interrupt func()

	chunks chan []byte
	done   chan struct{}
	wg     sync.WaitGroup

	mu          sync.Mutex
	interrupted bool // Ctrl-C seen since the last Stopped
	closed      bool

	sw       map[uint64][]byte // software breakpoints: address -> original bytes
	inserted bool              // sw breakpoints are in guest memory now
	hw       []HW
	lastHW   []HW  // s.hw as of the last resume, which replies name
	armed    []int // indices in lastHW of the entries the Target armed
	// Watchpoints emulated by stepping (Target.StepWatches): the watched
	// bytes as of the last resume, by index in lastHW, and whether gdb
	// itself asked for the step being taken.
	watched  map[int][]byte
	userStep bool
}

// New starts a session on nc, gdb's connection (a TCP connection, a
// pipe, a serial line), for target t; interrupt is called (from another
// goroutine) when gdb sends Ctrl-C while the guest runs. Close ends it
// and closes nc.
func New(nc io.ReadWriteCloser, t Target, interrupt func()) *Stub {
	s := &Stub{nc: nc, t: t, interrupt: interrupt, sw: map[uint64][]byte{},
		chunks: make(chan []byte, 64), done: make(chan struct{})}
	s.c = conn{r: bufio.NewReader(&chanReader{s: s}), w: nc}
	s.wg.Add(1)
	go s.read()
	return s
}

// read copies the connection into s.chunks, acting on Ctrl-C at once:
// the vCPU loop is busy running the guest and cannot look.
func (s *Stub) read() {
	defer s.wg.Done()
	defer close(s.chunks)
	for {
		buf := make([]byte, 4096)
		n, err := s.nc.Read(buf)
		if n > 0 {
			if slices.Contains(buf[:n], interruptByte) {
				s.mu.Lock()
				s.interrupted = true
				s.mu.Unlock()
				s.interrupt()
			}
			select {
			case s.chunks <- buf[:n]:
			case <-s.done:
				return
			}
		}
		if err != nil {
			// gdb gone: stop the guest so the vCPU loop finds out, unless
			// the stub itself hung up (detach, exit, Close).
			s.mu.Lock()
			closed := s.closed
			s.interrupted = !closed
			s.mu.Unlock()
			if !closed {
				s.interrupt()
			}
			return
		}
	}
}

// chanReader reads what the reader goroutine received.
type chanReader struct {
	s    *Stub
	left []byte
}

func (r *chanReader) Read(b []byte) (int, error) {
	if len(r.left) == 0 {
		chunk, ok := <-r.s.chunks
		if !ok {
			return 0, io.EOF
		}
		r.left = chunk
	}
	n := copy(b, r.left)
	r.left = r.left[n:]
	return n, nil
}

// Interrupted reports, and forgets, a Ctrl-C from gdb (or its going
// away) since the last call: the guest should stop with SIGINT. The
// owner calls it before every Stopped too, so that a Ctrl-C that raced
// with another stop counts as that stop.
func (s *Stub) Interrupted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.interrupted
	s.interrupted = false
	return i
}

// Close ends the session: gdb's connection is closed and the reader
// goroutine gone when it returns, also when another Close runs at the
// same time. It does not touch the guest.
func (s *Stub) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	var err error
	if first {
		err = s.nc.Close()
		close(s.done)
	}
	s.wg.Wait()
	return err
}

// SoftwareBreakpointAt reports whether pc holds one of the stub's
// software breakpoints, inserted now: on hosts whose KVM emulates the
// guest's int3 rather than trapping it, the stop shows up as an
// emulation failure at that address.
func (s *Stub) SoftwareBreakpointAt(pc uint64) bool {
	_, ok := s.sw[pc]
	return ok && s.inserted
}

// Exited tells gdb the guest ended with status and ends the session.
func (s *Stub) Exited(status int) error {
	err := s.c.writePacket([]byte(fmt.Sprintf("W%02x", status&0xff)))
	return errors.Join(err, s.Close())
}

// Terminated tells gdb the guest ended on signal sig (a fault it cannot
// survive) and ends the session.
func (s *Stub) Terminated(sig int) error {
	err := s.c.writePacket([]byte(fmt.Sprintf("X%02x", sig&0xff)))
	return errors.Join(err, s.Close())
}

// Stopped reports stop to gdb (unless initial: gdb asks with '?' after
// connecting) and serves gdb until it resumes the guest. Software
// breakpoints are out of guest memory while gdb looks, and back in when
// Stopped returns Continue or Step.
func (s *Stub) Stopped(stop Stop, initial bool) (Action, error) {
	if stop.HW >= 0 {
		// The Target numbers the entries it armed.
		if stop.HW < len(s.armed) {
			stop.HW = s.armed[stop.HW]
		} else {
			stop.HW = -1
		}
	}
	if !initial && s.watched != nil && stop.Signal == sigTrap && !stop.SWBreak && stop.HW < 0 {
		// A step taken to emulate watchpoints: stop only when a watched
		// value changed or gdb asked for this step.
		if i := s.changedWatch(); i >= 0 {
			stop.HW = i
		} else if !s.userStep {
			if err := s.resume(false); err != nil {
				return Kill, err
			}
			return Step, nil
		}
	}
	if err := s.removeSW(); err != nil {
		return Kill, err
	}
	reply := s.stopReply(stop)
	if !initial {
		if err := s.c.writePacket([]byte(reply)); err != nil {
			return Kill, fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
	}
	for {
		p, err := s.c.readPacket()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return Kill, ErrDisconnected
			}
			return Kill, fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
		act, resp, done := s.handle(p, reply)
		if done {
			if act == Continue || act == Step {
				if err := s.resume(act == Step); err != nil {
					return Kill, err
				}
			}
			if act == Detach || act == Kill {
				if resp != "" {
					_ = s.c.writePacket([]byte(resp))
				}
				if act == Detach {
					return act, s.detach()
				}
			}
			return act, nil
		}
		if err := s.c.writePacket([]byte(resp)); err != nil {
			return Kill, fmt.Errorf("%w: %w", ErrDisconnected, err)
		}
	}
}

func (s *Stub) stopReply(stop Stop) string {
	r := fmt.Sprintf("T%02xthread:1;", stop.Signal)
	switch {
	case stop.SWBreak:
		r += "swbreak:;"
	case stop.HW < len(s.lastHW) && stop.HW >= 0:
		h := s.lastHW[stop.HW]
		name := map[Kind]string{Exec: "hwbreak", Write: "watch", Read: "rwatch", Access: "awatch"}[h.Kind]
		if h.Kind == Exec {
			r += "hwbreak:;"
		} else {
			r += fmt.Sprintf("%s:%x;", name, h.Addr)
		}
	}
	return r
}

// handle answers one packet; done means the guest resumes (or ends).
func (s *Stub) handle(p []byte, reply string) (act Action, resp string, done bool) {
	if len(p) == 0 {
		return 0, "", false
	}
	arg := string(p[1:])
	switch p[0] {
	case '?':
		return 0, reply, false
	case 'g':
		b, err := s.t.Registers()
		if err != nil {
			return 0, "E01", false
		}
		return 0, hex.EncodeToString(b), false
	case 'G':
		b, err := hex.DecodeString(arg)
		if err != nil {
			return 0, "E01", false
		}
		for n := 0; s.t.RegisterSize(n) > 0 && len(b) >= s.t.RegisterSize(n); n++ {
			if err := s.t.SetRegister(n, b[:s.t.RegisterSize(n)]); err != nil {
				return 0, "E01", false
			}
			b = b[s.t.RegisterSize(n):]
		}
		return 0, "OK", false
	case 'p':
		n, err := strconv.ParseUint(arg, 16, 16)
		if err != nil || s.t.RegisterSize(int(n)) == 0 {
			return 0, "E01", false
		}
		all, err := s.t.Registers()
		if err != nil {
			return 0, "E01", false
		}
		off := 0
		for i := 0; i < int(n); i++ {
			off += s.t.RegisterSize(i)
		}
		return 0, hex.EncodeToString(all[off : off+s.t.RegisterSize(int(n))]), false
	case 'P':
		num, val, ok := strings.Cut(arg, "=")
		n, err := strconv.ParseUint(num, 16, 16)
		b, herr := hex.DecodeString(val)
		if !ok || err != nil || herr != nil || s.t.RegisterSize(int(n)) != len(b) {
			return 0, "E01", false
		}
		if err := s.t.SetRegister(int(n), b); err != nil {
			return 0, "E01", false
		}
		return 0, "OK", false
	case 'm':
		addr, n, ok := addrLen(arg)
		if !ok || n > maxPacket/2 {
			return 0, "E01", false
		}
		b := make([]byte, n)
		if err := s.t.ReadMemory(addr, b); err != nil {
			return 0, "E14", false // EFAULT
		}
		return 0, hex.EncodeToString(b), false
	case 'M':
		head, data, _ := strings.Cut(arg, ":")
		addr, n, ok := addrLen(head)
		b, err := hex.DecodeString(data)
		if !ok || err != nil || uint64(len(b)) != n {
			return 0, "E01", false
		}
		if err := s.t.WriteMemory(addr, b); err != nil {
			return 0, "E14", false
		}
		return 0, "OK", false
	case 'Z', 'z':
		return 0, s.breakpoint(p[0] == 'Z', arg), false
	case 'c':
		return Continue, "", true
	case 's':
		return Step, "", true
	case 'C':
		return Continue, "", true // the signal gdb would pass on means nothing to a guest
	case 'S':
		return Step, "", true
	case 'k':
		return Kill, "", true
	case 'D':
		return Detach, "OK", true
	case 'H', 'T':
		return 0, "OK", false // one thread
	case 'v':
		if arg == "Kill;1" || strings.HasPrefix(arg, "Kill") {
			return Kill, "OK", true
		}
		return 0, "", false // no vCont: gdb uses c and s
	case 'q':
		return 0, s.query(arg), false
	case 'Q':
		if arg == "StartNoAckMode" {
			defer func() { s.c.noAck = true }()
			return 0, "OK", false
		}
	}
	return 0, "", false
}

func (s *Stub) query(q string) string {
	switch {
	case strings.HasPrefix(q, "Supported"):
		return fmt.Sprintf("PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+", maxPacket)
	case q == "C":
		return "QC1"
	case q == "Attached":
		return "1"
	case q == "fThreadInfo":
		return "m1"
	case q == "sThreadInfo":
		return "l"
	case q == "Symbol::":
		return "OK"
	case strings.HasPrefix(q, "Xfer:features:read:target.xml:"):
		off, n, ok := addrLen(strings.TrimPrefix(q, "Xfer:features:read:target.xml:"))
		xml := s.t.XML()
		if !ok {
			return "E01"
		}
		if off >= uint64(len(xml)) {
			return "l"
		}
		end := min(uint64(len(xml)), off+n)
		if end == uint64(len(xml)) {
			return "l" + xml[off:end]
		}
		return "m" + xml[off:end]
	}
	return ""
}

// breakpoint handles Z (insert) and z (remove) of every kind.
func (s *Stub) breakpoint(insert bool, arg string) string {
	parts := strings.Split(arg, ",")
	if len(parts) < 3 {
		return "E01"
	}
	kind, err1 := strconv.Atoi(parts[0])
	addr, err2 := strconv.ParseUint(parts[1], 16, 64)
	size, err3 := strconv.ParseUint(parts[2], 16, 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return "E01"
	}
	if kind == 0 {
		if !insert {
			delete(s.sw, addr)
			return "OK"
		}
		orig := make([]byte, len(s.t.BreakInstruction()))
		if err := s.t.ReadMemory(addr, orig); err != nil {
			return "E14"
		}
		s.sw[addr] = orig
		return "OK"
	}
	if kind < 1 || kind > 4 {
		return ""
	}
	h := HW{Kind: Kind(kind), Addr: addr, Len: int(size)}
	if h.Kind == Exec {
		h.Len = 1
	}
	if !insert {
		if i := slices.Index(s.hw, h); i >= 0 {
			s.hw = slices.Delete(s.hw, i, i+1)
		}
		return "OK"
	}
	switch h.Len {
	case 1, 2, 4, 8:
	default:
		return "E01"
	}
	if h.Addr%uint64(h.Len) != 0 || len(s.hw) >= s.t.MaxHW() {
		return "E01" // gdb then says it cannot insert the watchpoint
	}
	s.hw = append(s.hw, h)
	return "OK"
}

// resume puts the software breakpoints into guest memory and arms the
// debug registers, or, for watchpoints the Target cannot trust, takes a
// snapshot of the watched bytes and steps. step is gdb's own request.
func (s *Stub) resume(step bool) error {
	brk := s.t.BreakInstruction()
	if !s.inserted {
		for addr := range s.sw {
			if err := s.t.WriteMemory(addr, brk); err != nil {
				return fmt.Errorf("inserting the breakpoint at %#x: %w", addr, err)
			}
		}
		s.inserted = true
	}
	s.lastHW = slices.Clone(s.hw)
	s.armed, s.watched, s.userStep = nil, nil, step
	var armed []HW
	for i, h := range s.lastHW {
		if h.Kind != Exec && s.t.StepWatches() {
			if s.watched == nil {
				s.watched = map[int][]byte{}
			}
			b := make([]byte, h.Len)
			if err := s.t.ReadMemory(h.Addr, b); err != nil {
				b = nil // unreadable now: any readable value is a change
			}
			s.watched[i] = b
			continue
		}
		s.armed = append(s.armed, i)
		armed = append(armed, h)
	}
	return s.t.SetDebug(step || s.watched != nil, armed, len(s.sw) > 0)
}

// changedWatch returns the index in lastHW of a stepped watchpoint whose
// bytes changed since the last resume, or -1.
func (s *Stub) changedWatch() int {
	for i, old := range s.watched {
		b := make([]byte, s.lastHW[i].Len)
		err := s.t.ReadMemory(s.lastHW[i].Addr, b)
		if (err == nil) != (old != nil) || (err == nil && !bytes.Equal(b, old)) {
			return i
		}
	}
	return -1
}

// removeSW takes the software breakpoints out of guest memory.
func (s *Stub) removeSW() error {
	if !s.inserted {
		return nil
	}
	s.inserted = false
	var errs []error
	for addr, orig := range s.sw {
		if err := s.t.WriteMemory(addr, orig); err != nil {
			errs = append(errs, fmt.Errorf("removing the breakpoint at %#x: %w", addr, err))
		}
	}
	return errors.Join(errs...)
}

// detach leaves the guest as if gdb had never been there.
func (s *Stub) detach() error {
	clear(s.sw)
	s.hw, s.lastHW = nil, nil
	return errors.Join(s.t.SetDebug(false, nil, false), s.Close())
}

// addrLen parses gdb's "ADDR,LENGTH" (hex).
func addrLen(s string) (addr, n uint64, ok bool) {
	a, l, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	addr, err1 := strconv.ParseUint(a, 16, 64)
	n, err2 := strconv.ParseUint(l, 16, 64)
	return addr, n, err1 == nil && err2 == nil
}
