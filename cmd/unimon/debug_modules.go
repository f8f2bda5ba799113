//go:build !unimon_nodebug

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"

	"github.com/unimon/unimon/internal/tcplisten"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/coredump"
)

// debugModules: this build serves --gdb and --dumpcore itself.
const debugModules = true

// gdbAddress turns --gdb-port's PORT or HOST:PORT into a listen address.
// HOST is an IP address, or localhost: a name to look up would link Go's
// DNS resolver for this one option (0.3 MB of binary, which start-up and
// peak RSS pay; issue 12).
func gdbAddress(value string) (string, error) {
	host, port := "127.0.0.1", value
	if h, p, err := net.SplitHostPort(value); err == nil {
		host, port = h, p
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", usagef("malformed argument to --gdb-port: %q (want a TCP port, e.g. --gdb-port=1234, or HOST:PORT)", value)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return "", usagef("--gdb-port=%s: %q is not an IP address (HOST is one, or localhost)", value, host)
	}
	return net.JoinHostPort(host, port), nil
}

// apply puts the options into cfg. With --gdb it listens, says where,
// and waits for gdb's connection, which a signal (signals) cuts short as
// it would a run; the returned function releases what apply opened.
func (d *debugOptions) apply(cfg *monitor.Config, signals *signalExit, stderr io.Writer) (func(), error) {
	if d.dumpCore != "" {
		if err := coredump.CheckDir(d.dumpCore); err != nil {
			return func() {}, usagef("--dumpcore=%s: %v", d.dumpCore, err)
		}
	}
	cfg.DumpCore = d.dumpCore
	if d.gdbAddr != "" && !d.gdb {
		return func() {}, usagef("--gdb-port needs --gdb")
	}
	if !d.gdb {
		return func() {}, nil
	}
	addr := d.gdbAddr
	if addr == "" {
		addr = defaultGDBAddr
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil { // gdbAddress made addr
		return func() {}, fmt.Errorf("--gdb: %w", err)
	}
	// Not net.ListenTCP: see package tcplisten.
	ln, err := tcplisten.Listen(ap)
	if err != nil {
		return func() {}, fmt.Errorf("--gdb: %w", err)
	}
	fmt.Fprintf(stderr, "unimon: waiting for gdb on %s (target remote %s)\n", ln.Addr(), ln.Addr())
	signals.wait()
	c, err := acceptOne(signals.ctx, ln)
	if err != nil {
		signals.exitIfCaught(err)
		return func() {}, fmt.Errorf("--gdb: waiting for gdb: %w", err)
	}
	cfg.GDB = c
	// The connection is the VM's once New succeeds (closing it again
	// then does nothing); this closes it when New fails.
	return func() { c.Close() }, nil
}

// acceptOne takes one connection from ln, or gives up when ctx ends, and
// closes ln either way: one session per run, as upstream's, so nobody
// else may connect.
func acceptOne(ctx context.Context, ln net.Listener) (net.Conn, error) {
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		ln.Close() // ends the Accept in progress
		if r := <-ch; r.c != nil {
			r.c.Close()
		}
		return nil, context.Cause(ctx)
	}
}
