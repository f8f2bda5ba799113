package main

// The dupsock mode (tests/goguests/netdup_test.go): a socket's fds made
// by dup (net's File methods) share it, and the socket is closed in the
// stack only when its last fd is.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

func init() {
	modes["dupsock"] = mode{0, func(a []string) error { return dupSock() }}
}

func dupSock() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The listener's dup accepts once the listener is closed.
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		return fmt.Errorf("listener File: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ln2, err := net.FileListener(lf)
	lf.Close()
	if err != nil {
		return fmt.Errorf("FileListener: %w", err)
	}
	defer ln2.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln2.Accept()
		if err != nil {
			fmt.Println("accept:", err)
			c = nil
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("dial the closed listener's dup: %w", err)
	}
	s := <-accepted
	if s == nil {
		return errors.New("no connection accepted")
	}
	defer s.Close()
	fmt.Println("listener's dup accepts: true")

	// The connection's dup writes after the connection is closed, and
	// the peer sees EOF only when the dup is closed too.
	cf, err := c.(*net.TCPConn).File()
	if err != nil {
		return fmt.Errorf("conn File: %w", err)
	}
	c.Close()
	if _, err := cf.Write([]byte("ping")); err != nil {
		return fmt.Errorf("write through the dup: %w", err)
	}
	buf := make([]byte, 16)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.ReadAtLeast(s, buf, 4)
	fmt.Printf("peer reads through the dup: %q %v\n", buf[:n], err)
	s.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = s.Read(buf)
	var ne net.Error
	fmt.Printf("no EOF while the dup is open: %v\n", errors.As(err, &ne) && ne.Timeout())
	cf.Close()
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = s.Read(buf)
	fmt.Printf("EOF once the last fd is closed: %v\n", err == io.EOF)
	return nil
}
