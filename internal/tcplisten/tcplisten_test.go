//go:build linux

package tcplisten_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/internal/tcplisten"
)

// withoutPort is an address's text with its port as PORT, for comparing
// listeners given port 0.
func withoutPort(t *testing.T, a net.Addr) string {
	t.Helper()
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatalf("address %q: %v", a, err)
	}
	return net.JoinHostPort(host, "PORT")
}

// TestAddrLikeNet: the listener's address reads as net.ListenTCP's for
// the same address, dual-stack wildcards included.
func TestAddrLikeNet(t *testing.T) {
	leakcheck.Check(t)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "0.0.0.0:0", "[::]:0", "[::ffff:127.0.0.1]:0"} {
		t.Run(addr, func(t *testing.T) {
			ap := netip.MustParseAddrPort(addr)
			want, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			ln, err := tcplisten.Listen(ap)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			if got, w := withoutPort(t, ln.Addr()), withoutPort(t, want.Addr()); got != w {
				t.Errorf("Addr() = %s, net's %s", got, w)
			}
			if got := ln.Addr().Network(); got != "tcp" {
				t.Errorf("Addr().Network() = %q, want tcp", got)
			}
			if ln.Addr().(*net.TCPAddr).Port == 0 {
				t.Errorf("Addr() = %s: no port picked", ln.Addr())
			}
		})
	}
}

// TestWildcardTakesIPv4: 0.0.0.0 listens on IPv4 and IPv6 both, as net's
// listener does.
func TestWildcardTakesIPv4(t *testing.T) {
	leakcheck.Check(t)
	ln, err := tcplisten.Listen(netip.MustParseAddrPort("0.0.0.0:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, host := range []string{"127.0.0.1", "::1"} {
		c, err := net.Dial("tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Fatalf("dial %s: %v", host, err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.RemoteAddr().String(), c.LocalAddr().String(); got != want {
			t.Errorf("%s: RemoteAddr() = %s, the dialer is %s", host, got, want)
		}
		s.Close()
		c.Close()
	}
}

// TestListenErrorLikeNet: a port in use fails as net.ListenTCP fails,
// word for word, and matches syscall.EADDRINUSE.
func TestListenErrorLikeNet(t *testing.T) {
	leakcheck.Check(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ap := busy.Addr().(*net.TCPAddr).AddrPort()
	_, want := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	_, err = tcplisten.Listen(ap)
	if err == nil || want == nil || err.Error() != want.Error() {
		t.Errorf("Listen(%s) = %v, net's %v", ap, err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("%v does not match EADDRINUSE", err)
	}
}

// connected returns both ends of a connection from net's dialer to a
// listener of Listen's on loopback; cleanup closes all three.
func connected(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := tcplisten.Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s
}

// TestConn: an accepted connection carries data both ways, knows both
// ends' addresses, reads io.EOF when the peer closes and net.ErrClosed
// once closed itself.
func TestConn(t *testing.T) {
	leakcheck.Check(t)
	c, s := connected(t)
	if s.LocalAddr().String() != c.RemoteAddr().String() || s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("accepted %s <- %s; the dialer has %s -> %s", s.LocalAddr(), s.RemoteAddr(), c.LocalAddr(), c.RemoteAddr())
	}
	for _, tt := range []struct {
		from, to net.Conn
		msg      string
	}{{c, s, "$qSupported#37"}, {s, c, "+$PacketSize=4000#xx"}} {
		if _, err := tt.from.Write([]byte(tt.msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(tt.msg))
		if _, err := io.ReadFull(tt.to, buf); err != nil || string(buf) != tt.msg {
			t.Errorf("read %q, %v; want %q", buf, err, tt.msg)
		}
	}
	c.Close()
	if n, err := s.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after the peer closed = %d, %v; want io.EOF", n, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for what, err := range map[string]error{
		"Read":  second(s.Read(make([]byte, 1))),
		"Write": second(s.Write([]byte("x"))),
		"Close": s.Close(),
	} {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s on a closed connection: %v, want net.ErrClosed", what, err)
		}
	}
}

func second(_ int, err error) error { return err }

// TestCloseEndsRead: closing a connection ends a Read waiting in another
// goroutine with net.ErrClosed (the gdb stub's reader ends so).
func TestCloseEndsRead(t *testing.T) {
	leakcheck.Check(t)
	_, s := connected(t)
	done := make(chan error)
	go func() {
		_, err := s.Read(make([]byte, 1))
		done <- err
	}()
	s.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read ended by Close: %v, want net.ErrClosed", err)
	}
}

// TestCloseWhileAccepting: Close ends an Accept in progress with the
// error net's listener gives, and a later Accept or Close gives it too.
func TestCloseWhileAccepting(t *testing.T) {
	leakcheck.Check(t)
	ap := netip.MustParseAddrPort("127.0.0.1:0")
	ln, err := tcplisten.Listen(ap)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	err = <-done
	want := "accept tcp " + ln.Addr().String() + ": use of closed network connection"
	if !errors.Is(err, net.ErrClosed) || err.Error() != want {
		t.Errorf("Accept ended by Close: %v, want %s", err, want)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
}

// TestDeadline: a deadline ends an Accept in progress (monitor's accept
// gives up so when its context ends) and the zero time lifts it.
func TestDeadline(t *testing.T) {
	leakcheck.Check(t)
	ln, err := tcplisten.Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d, ok := ln.(interface{ SetDeadline(time.Time) error })
	if !ok {
		t.Fatalf("%T has no SetDeadline", ln)
	}
	done := make(chan error)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	if err := d.SetDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Accept past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := d.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept with the deadline lifted: %v", err)
	}
	s.Close()
}
