package main

import (
	"fmt"
	"io"

	"github.com/unimon/unimon/monitor"
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

// requested returns the first debug option given, "" for none: the lean
// build (debugModules false) hands a run with one to unimon-debug.
func (d *debugOptions) requested() string {
	switch {
	case d.gdb:
		return "--gdb"
	case d.gdbAddr != "":
		return "--gdb-port"
	case d.dumpCore != "":
		return "--dumpcore"
	}
	return ""
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
