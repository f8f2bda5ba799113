package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"

	"github.com/unimon/unimon/internal/tcplisten"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/coredump"
)

// debugOptions are upstream solo5-hvt-debug's options: --dumpcore=DIR,
// --gdb and --gdb-port=N (unimon also takes HOST:PORT).
type debugOptions struct {
	dumpCore string
	gdb      bool
	gdbAddr  string // "" until --gdb-port
}

// defaultGDBAddr listens on loopback only: the stub gives whoever
// connects full control of the guest.
const defaultGDBAddr = "127.0.0.1:1234"

// parse takes one debug option; the caller has checked that --dumpcore
// and --gdb-port have a value.
func (d *debugOptions) parse(key, value string, hasValue bool) error {
	switch key {
	case "--dumpcore":
		d.dumpCore = value
	case "--gdb":
		if hasValue {
			return usagef("--gdb takes no value (the port is --gdb-port=N)")
		}
		d.gdb = true
	case "--gdb-port":
		addr, err := gdbAddress(value)
		if err != nil {
			return err
		}
		d.gdbAddr = addr
	}
	return nil
}

// gdbAddress turns --gdb-port's PORT or HOST:PORT into a listen address.
// HOST is an IP address, or localhost: a name to look up would link Go's
// DNS resolver into every run of unimon for this one option (0.3 MB of
// binary, which the CLI's start-up and peak RSS pay; issue 12).
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

// apply puts the options into cfg; the returned function releases what
// it opened (the gdb listener).
func (d *debugOptions) apply(cfg *monitor.Config, stderr io.Writer) (func(), error) {
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
	cfg.GDB = ln
	return func() { ln.Close() }, nil
}

// reportCore says where a core file went, as upstream's dumpcore does.
func reportCore(vm *monitor.VM, stderr io.Writer) {
	path, err := vm.CoreFile()
	if path != "" {
		fmt.Fprintf(stderr, "unimon: dumpcore: guest core written to %s\n", path)
	}
	if err != nil {
		fmt.Fprintf(stderr, "unimon: dumpcore: %v\n", err)
	}
}
