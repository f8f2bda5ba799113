package main

// The socket-semantics modes (tests/goguests/netfix_test.go): what
// programs that use sockets below the net package see (blocking sockets
// made with package syscall, os.NewFile on them, SO_RCVTIMEO and
// SO_SNDTIMEO), how a failed connect looks through net.Dial when the
// stack sets the socket up before the connect, and a server to refuse
// and accept those connects.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// mode is an entry of modes (an alias of its element type, which
// main.go spells out).
type mode = struct {
	args int
	run  func(a []string) error
}

func init() {
	modes["blocking"] = mode{0, func(a []string) error { return blocking() }}
	modes["timeouts"] = mode{0, func(a []string) error { return timeouts() }}
	modes["connerr"] = mode{2, func(a []string) error { return connErrors(a[0], a[1]) }}
	modes["echo"] = mode{1, func(a []string) error { return echo(a[0]) }}
	modes["sleep"] = mode{1, func(a []string) error { return sleep(a[0]) }}
	modes["waitaddr"] = mode{1, func(a []string) error { return waitAddr(a[0]) }}
}

// listener makes a blocking TCP listener on 127.0.0.1 with system calls
// and returns it and its port.
func listener() (int, int, error) {
	ls, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.Bind(ls, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, 0, fmt.Errorf("bind: %w", err)
	}
	if err := syscall.Listen(ls, 8); err != nil {
		return -1, 0, fmt.Errorf("listen: %w", err)
	}
	sa, err := syscall.Getsockname(ls)
	if err != nil {
		return -1, 0, fmt.Errorf("getsockname: %w", err)
	}
	return ls, sa.(*syscall.SockaddrInet4).Port, nil
}

// dialBlocking connects a blocking socket to 127.0.0.1:port.
func dialBlocking(port int) (int, error) {
	c, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.Connect(c, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
		syscall.Close(c)
		return -1, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// pattern is n bytes the reader can check.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>12)
	}
	return b
}

// blocking writes through a blocking socket much more than the socket
// buffers hold while the reader is still asleep (a blocking accept, a
// blocking connect, one large write, writes of 64 KiB, a writev of two
// buffers, os.File writes), and the reader checks it all arrived with
// blocking reads; then a blocking UDP receive.
func blocking() error {
	ls, port, err := listener()
	if err != nil {
		return err
	}
	defer syscall.Close(ls)
	const size = 4 << 20
	data := pattern(size)
	got := make(chan string, 1)
	go func() {
		s, _, err := syscall.Accept(ls) // before the client connects: it waits
		if err != nil {
			got <- fmt.Sprint("accept: ", err)
			return
		}
		defer syscall.Close(s)
		time.Sleep(300 * time.Millisecond) // the writer fills every buffer meanwhile
		var all bytes.Buffer
		buf := make([]byte, 100_000)
		for {
			n, err := syscall.Read(s, buf)
			if err != nil {
				got <- fmt.Sprint("read: ", err)
				return
			}
			if n == 0 {
				break
			}
			all.Write(buf[:n])
		}
		want := bytes.Repeat(data, 4)
		got <- fmt.Sprintf("%d bytes, equal %v", all.Len(), bytes.Equal(all.Bytes(), want))
	}()
	time.Sleep(50 * time.Millisecond) // the server is in accept
	c, err := dialBlocking(port)
	if err != nil {
		return err
	}
	n, err := syscall.Write(c, data)
	fmt.Printf("one write: %d %v\n", n, err)
	short, eagain := 0, 0
	for off := 0; off < size; off += 64 << 10 {
		n, err := syscall.Write(c, data[off:off+64<<10])
		switch {
		case errors.Is(err, syscall.EAGAIN):
			eagain++
		case err != nil:
			return fmt.Errorf("write: %w", err)
		case n != 64<<10:
			short++
		}
	}
	fmt.Printf("64 KiB writes: short %d, EAGAIN %d\n", short, eagain)
	n, err = unix.Writev(c, [][]byte{data[:size/2], data[size/2:]})
	fmt.Printf("writev: %d %v\n", n, err)
	f := os.NewFile(uintptr(c), "blocking socket")
	n, err = f.Write(data)
	fmt.Printf("os.File write: %d %v\n", n, err)
	if err := syscall.Shutdown(c, syscall.SHUT_WR); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Println("server read:", <-got)
	if err := f.Close(); err != nil {
		return err
	}
	return blockingUDP()
}

// blockingUDP receives on a blocking UDP socket before the datagram is
// sent: recvfrom waits for it.
func blockingUDP() error {
	u, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(u)
	if err := syscall.Bind(u, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	to, err := syscall.Getsockname(u)
	if err != nil {
		return err
	}
	go func() {
		time.Sleep(100 * time.Millisecond) // the receiver waits meanwhile
		s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
		if err != nil {
			return
		}
		syscall.Sendto(s, []byte("datagram"), 0, to)
		syscall.Close(s)
	}()
	buf := make([]byte, 100)
	n, _, err := syscall.Recvfrom(u, buf, 0)
	fmt.Printf("recvfrom: %q %v\n", buf[:n], err)
	return nil
}

// timeouts checks SO_RCVTIMEO and SO_SNDTIMEO on blocking sockets: a
// read, an accept and a write whose peer never reads end with EAGAIN (a
// write with what it sent) once the time is over.
func timeouts() error {
	ls, port, err := listener()
	if err != nil {
		return err
	}
	defer syscall.Close(ls)
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(ls, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("SO_RCVTIMEO: %w", err)
	}
	back, err := unix.GetsockoptTimeval(ls, unix.SOL_SOCKET, unix.SO_RCVTIMEO)
	if err != nil {
		return fmt.Errorf("getsockopt SO_RCVTIMEO: %w", err)
	}
	fmt.Printf("SO_RCVTIMEO: %d.%06d\n", back.Sec, back.Usec)
	_, _, err = syscall.Accept(ls)
	fmt.Printf("accept timeout: EAGAIN %v\n", errors.Is(err, syscall.EAGAIN))

	c, err := dialBlocking(port)
	if err != nil {
		return err
	}
	defer syscall.Close(c)
	s, _, err := syscall.Accept(ls)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	defer syscall.Close(s) // never read: the client's writes fill every buffer
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(c, unix.SOL_SOCKET, opt, &tv); err != nil {
			return fmt.Errorf("setsockopt %d: %w", opt, err)
		}
	}
	start := time.Now()
	_, err = syscall.Read(c, make([]byte, 10))
	fmt.Printf("read timeout: EAGAIN %v, waited %v\n", errors.Is(err, syscall.EAGAIN), time.Since(start) >= 100*time.Millisecond)
	const size = 16 << 20
	n, err := syscall.Write(c, pattern(size))
	fmt.Printf("write timeout: partial %v (%v)\n", n > 0 && n < size, err)
	// The stack may still take some of what Tx held (the buffers behind
	// it grow): write on until a write finds no room at all.
	chunk := pattern(1 << 20)
	for i := 0; i < 64 && err == nil; i++ {
		_, err = syscall.Write(c, chunk)
	}
	fmt.Printf("write timeout with full buffers: EAGAIN %v\n", errors.Is(err, syscall.EAGAIN))
	bad := unix.Timeval{Usec: 1_000_000}
	err = unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &bad)
	fmt.Printf("bad timeval: EDOM %v\n", errors.Is(err, syscall.EDOM))
	return nil
}

// slowDialer makes the socket, then waits before connecting: the
// network stack sets the new socket up meanwhile, as it may whenever the
// program is descheduled between socket and connect.
var slowDialer = net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
	time.Sleep(100 * time.Millisecond)
	return nil
}}

// connErrors connects to refused (a port nobody listens on) and to open
// (an echo server; "self": one this guest runs on loopback), the stack
// seeing each socket before its connect; a raw non-blocking connect to
// refused reports the error through SO_ERROR once, then 0; a blocking
// one returns it.
func connErrors(refused, open string) error {
	ctx := context.Background()
	if open == "self" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		go serveEcho(ln, 1)
		open = ln.Addr().String()
	}
	_, err := slowDialer.DialContext(ctx, "tcp", refused)
	fmt.Printf("dial refused: ECONNREFUSED %v (%v)\n", errors.Is(err, syscall.ECONNREFUSED), err)
	c, err := slowDialer.DialContext(ctx, "tcp", open)
	if err != nil {
		fmt.Printf("dial open: %v\n", err)
	} else {
		io.WriteString(c, "ping")
		c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(c)
		c.Close()
		fmt.Printf("dial open: %q %v\n", b, err)
	}

	ap, err := netip4(refused)
	if err != nil {
		return err
	}
	for _, nonblock := range []bool{true, false} {
		typ := syscall.SOCK_STREAM
		if nonblock {
			typ |= syscall.SOCK_NONBLOCK
		}
		fd, err := syscall.Socket(syscall.AF_INET, typ, 0)
		if err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		err = syscall.Connect(fd, ap)
		first := err
		if nonblock && errors.Is(err, syscall.EINPROGRESS) {
			for i := 0; i < 1000; i++ {
				v, gerr := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
				if gerr != nil {
					return gerr
				}
				if v != 0 {
					first = syscall.Errno(v)
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		after, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		fmt.Printf("raw connect nonblocking=%v: ECONNREFUSED %v (%v), SO_ERROR after %d\n", nonblock, errors.Is(first, syscall.ECONNREFUSED), first, after)
		syscall.Close(fd)
	}
	return nil
}

// netip4 is the syscall address of an IPv4 HOST:PORT.
func netip4(hostport string) (*syscall.SockaddrInet4, error) {
	a, err := net.ResolveTCPAddr("tcp4", hostport)
	if err != nil {
		return nil, err
	}
	sa := &syscall.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	return sa, nil
}

// echo serves on addr until the guest is stopped: each connection is
// echoed back until the client's end. (It never exits: a unikernel that
// exits right after a close may take unsent data with it.)
func echo(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println("echo listening on", ln.Addr())
	return serveEcho(ln, -1)
}

// serveEcho echoes n connections of ln (n < 0: all), one after the
// other.
func serveEcho(ln net.Listener, n int) error {
	for i := 0; i != n; i++ {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		io.Copy(c, c)
		c.Close()
	}
	return nil
}

// sleep waits d (a time.Duration).
func sleep(d string) error {
	t, err := time.ParseDuration(d)
	if err != nil {
		return err
	}
	time.Sleep(t)
	return nil
}

// waitAddr waits (a minute at most) until an interface has an address
// that starts with prefix, and prints it.
func waitAddr(prefix string) error {
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		as, err := net.InterfaceAddrs()
		if err != nil {
			return err
		}
		for _, a := range as {
			if strings.HasPrefix(a.String(), prefix) {
				fmt.Println("waitaddr:", a)
				return nil
			}
		}
	}
	return fmt.Errorf("no address %s* after a minute", prefix)
}
