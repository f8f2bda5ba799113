// Command netguest is the Go unikernel the networking tests run: ordinary
// net and net/http code, nothing unimon-specific but the blank import.
// The first argument picks what it does; it prints one result line per
// check, which the tests read from the console.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/unimon/unimon/bindings"
)

// modes are what the guest can do, with their argument counts; the
// command line is a sequence of them, run in order.
var modes = map[string]struct {
	args int
	run  func(a []string) error
}{
	"loopback": {0, func(a []string) error { return loopback() }},
	"serve":    {1, func(a []string) error { return serve(a[0]) }},
	"get":      {1, func(a []string) error { return get(a[0]) }},
	"dns":      {1, func(a []string) error { return lookup(a[0]) }},
	"udp":      {1, func(a []string) error { return udpEcho(a[0]) }},
	"udpsend":  {1, func(a []string) error { return udpSend(a[0]) }},
	"errors":   {2, func(a []string) error { return failures(a[0], a[1]) }},
	"info":     {0, func(a []string) error { return info() }},
	"kernel":   {0, func(a []string) error { return kernelObjects() }},
}

func main() {
	args := os.Args[1:]
	for len(args) > 0 {
		m, ok := modes[args[0]]
		if !ok || len(args) < 1+m.args {
			fmt.Printf("FAIL: bad mode or arguments at %q\n", args)
			os.Exit(2)
		}
		if err := m.run(args[1 : 1+m.args]); err != nil {
			fmt.Printf("FAIL: %s: %v\n", args[0], err)
			os.Exit(1)
		}
		args = args[1+m.args:]
	}
	fmt.Println("DONE")
}

// loopback runs an httptest server and a client against it, IPv4 and
// IPv6, and a raw TCP echo with a large transfer.
func loopback() error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	defer srv.Close()
	for i := 0; i < 3; i++ {
		resp, err := http.Get(srv.URL + "/x" + strconv.Itoa(i))
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("httptest: %d %s\n", resp.StatusCode, b)
	}
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	back, err := tcpEcho("[::1]:0", data)
	if err != nil {
		return err
	}
	fmt.Printf("ipv6 echo: %d bytes, equal %v\n", len(back), string(back) == string(data))
	return nil
}

// tcpEcho sends data through a TCP echo server listening on addr, from
// another goroutine than the one reading, and returns what came back.
func tcpEcho(addr string, data []byte) ([]byte, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	return io.ReadAll(c)
}

// serve is the HTTP server the namespace's clients hit.
func serve(addr string) error {
	mux := http.NewServeMux()
	page := strings.Repeat("unimon serves this page. ", 400)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		chunk := make([]byte, 64<<10)
		for i := 0; i < n; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/discard", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bye")
		go func() { time.Sleep(100 * time.Millisecond); fmt.Println("DONE"); os.Exit(0) }()
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening on", ln.Addr())
	return http.Serve(ln, mux)
}

// get fetches url and prints the status, length and hash of the body.
func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Printf("get: %d %d %x\n", resp.StatusCode, len(b), sha256.Sum256(b))
	return nil
}

func lookup(name string) error {
	addrs, err := net.LookupHost(name)
	if err != nil {
		return err
	}
	fmt.Printf("dns: %s %s\n", name, strings.Join(addrs, ","))
	return nil
}

// udpEcho answers one datagram on port with it reversed.
func udpEcho(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer pc.Close()
	fmt.Println("udp listening on", pc.LocalAddr())
	buf := make([]byte, 2048)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		return err
	}
	b := buf[:n]
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	_, err = pc.WriteTo(b, from)
	return err
}

// udpSend sends a datagram to addr and prints the answer.
func udpSend(addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping from unikernel")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	fmt.Printf("udp answer: %s\n", buf[:n])
	return nil
}

// failures prints how each failure looks to the program: connection
// refused (refused is an address with no listener), reset by peer
// (reset is a server that resets), a read deadline, and a port in use.
func failures(refused, reset string) error {
	_, err := net.Dial("tcp", refused)
	fmt.Printf("refused: %v\n", errors.Is(err, syscall.ECONNREFUSED))

	c, err := net.Dial("tcp", reset)
	if err != nil {
		return err
	}
	buf := make([]byte, 10)
	_, err = c.Read(buf)
	c.Close()
	fmt.Printf("reset: %v (%v)\n", errors.Is(err, syscall.ECONNRESET), err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	fmt.Printf("inuse: %v\n", errors.Is(err, syscall.EADDRINUSE))

	c, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = c.Read(buf)
	fmt.Printf("deadline: %v\n", errors.Is(err, os.ErrDeadlineExceeded))

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:1")
	fmt.Printf("refused local: %v\n", errors.Is(err, syscall.ECONNREFUSED))
	return nil
}

// info prints the interfaces, their addresses and the host name.
func info() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		addrs, err := i.Addrs()
		if err != nil {
			return err
		}
		fmt.Printf("iface: %s %s %d %v %v\n", i.Name, i.HardwareAddr, i.MTU, i.Flags, addrs)
	}
	h, err := os.Hostname()
	if err != nil {
		return err
	}
	fmt.Println("hostname:", h)
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return err
	}
	fmt.Printf("resolv.conf: %q\n", b)
	return nil
}
