// Command unimon runs Solo5 hvt unikernels on KVM. It is a drop-in for
// solo5-hvt: same options, same guest ABI, same exit statuses.
//
//	unimon [--mem=MiB] [--net:NAME=IFACE]... [--net-mac:NAME=MAC]...
//	       [--block:NAME=PATH]... [--block-sector-size:NAME=N]... [--] KERNEL [ARGS...]
//	unimon info KERNEL
//
// The exit status is the guest's; monitor errors and signals exit 1.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/guestmem"
)

// version is set at link time by the Makefile; versionString falls back
// on the build information when it is not.
var version = "dev"

const usageText = `usage: unimon [OPTIONS] [--] KERNEL [ARGS...]
       unimon info KERNEL
       unimon build [-o FILE] [-manifest FILE.json] [--arch GOARCH] [--net NAME]... [--block NAME]... [--files DIR] [PACKAGE]
       unimon pack [-o FILE.tar] [--name REF] [--mem MiB] [--annotation K=V]... KERNEL [-- ARGS...]
       unimon test [--mem=MiB] [-v] [build flags] [test flags] [PACKAGES] [-- TEST FLAGS]

Runs the Solo5 hvt unikernel KERNEL on KVM (a drop-in for solo5-hvt).

Core options:
  --mem=MiB                     guest memory in MiB (default 512, rounded down
                                to 2 MiB, at most 4096)
  --mem-hugepages               back guest memory with transparent huge pages:
                                faster, for more memory used (unimon only)
  --help                        print this text and exit 1 (as solo5-hvt)
  --version                     print the version and ABI version and exit 0
Module block:
  --block:NAME=PATH             attach block device NAME to the file PATH
  --block-sector-size:NAME=N    sector size of NAME (power of two >= 512, default 512)
  --block=PATH                  attach the unikernel's only block device
Module dumpcore:
  --dumpcore=DIR                write an ELF core file of the guest to DIR if it
                                aborts or faults (read it with gdb KERNEL CORE)
Module gdb:
  --gdb                         wait for gdb before the first instruction
  --gdb-port=[HOST:]PORT        where gdb connects (default 127.0.0.1:1234)
Module net:
  --net:NAME=IFACE              attach net device NAME to the existing tap IFACE
  --net-mac:NAME=HWADDR         guest MAC of NAME (default: random, locally administered)
  --net-pcap:NAME=FILE          write every frame of NAME, both directions, to FILE (pcap)
  --net=IFACE                   attach the unikernel's only net device

Commands:
  info KERNEL                   print the ABI and manifest of KERNEL as JSON
  build ...                     build a Go program into a unikernel (see unimon build -h)
  pack ...                      write a unikernel as an OCI image (see unimon pack -h)
  test ...                      run Go packages' tests as unikernels, like go test

Exit status: the guest's; 1 on a monitor error, a guest fault or a signal.
`

// processExits is set by main: the process ends as soon as run returns,
// and that ends the VM and the signal handling faster than VM.Close and
// signal.Stop would (the kernel destroys the VM along with the process's
// memory; 0.14x of the floor's time for a micro-guest). Tests that call
// run in-process keep false, so that every run releases all it took.
var processExits = false

func main() {
	lockDown = lockDownProcess
	processExits = true
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "build", "pack", "test", "info":
			return runBuilder(args[0], args[1:], stderr)
		}
	}
	o, err := parseRunArgs(args)
	if err != nil {
		return fail(stderr, err)
	}
	if opt := o.debug.requested(); opt != "" && !debugModules {
		return debugTender.exec(opt, args, stderr)
	}
	switch {
	case o.help:
		fmt.Fprint(stderr, usageText)
		return 1
	case o.version:
		fmt.Fprintf(stderr, "unimon tender, version %s\nABI version %d\n", versionString(), guestabi.ABIVersion)
		return 0
	}
	return runKernel(o, stdout, stderr)
}

// fail prints err as one line, with a hint where there is one.
func fail(stderr io.Writer, err error) int {
	return failWith(stderr, err, nil)
}

// failWith is fail for errors about the unikernel whose manifest is m.
func failWith(stderr io.Writer, err error, m *guestabi.Manifest) int {
	line, hint := explain(err, m)
	fmt.Fprintf(stderr, "unimon: %s\n", line)
	if hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	return 1
}

// checkOutput vets stdout before anything else happens (see checkStdout).
func checkOutput(stdout, stderr io.Writer) error {
	f, ok := stdout.(*os.File)
	if !ok {
		return nil
	}
	warning, err := checkStdout(f)
	if warning != "" {
		fmt.Fprintf(stderr, "unimon: warning: %s\n", warning)
	}
	return err
}

func runKernel(o *runOptions, stdout, stderr io.Writer) int {
	// KVM's slowest answer for New is asked while the unikernel, its
	// devices and the signal handling are opened (0.3 ms of a micro-guest
	// boot), and done with before the lock-down.
	prefetched := monitor.Prefetch()
	defer prefetched()
	signals := catchSignals(stderr, processExits)
	defer signals.stop(!processExits)
	if err := checkOutput(stdout, stderr); err != nil {
		return fail(stderr, err)
	}
	// Parsed once: New loads this very file without reading it again.
	u, err := monitor.OpenUnikernel(o.kernel)
	if err != nil {
		return fail(stderr, whyNotRunnable(o.kernel, err))
	}
	defer u.Close()
	manifest := u.Manifest()
	if err := o.resolve(manifest); err != nil {
		return fail(stderr, err)
	}

	cfg := monitor.Config{Unikernel: u, Args: o.args, Console: stdout, HugePages: o.memHuge}
	if o.memMiB != 0 {
		size, adjusted, err := guestmem.SizeFromMiB(o.memMiB)
		if err != nil {
			return fail(stderr, &usageError{fmt.Sprintf("--mem=%d: %v", o.memMiB, err)})
		}
		if adjusted {
			fmt.Fprintf(stderr, "unimon: warning: adjusting memory to %d bytes\n", size)
		}
		cfg.Memory = size
	}
	devs, err := openDevices(o)
	defer closeAll(devs)
	if err != nil {
		return fail(stderr, err)
	}
	cfg.Block, cfg.Net = devs.block, devs.net
	caps, err := openCaptures(o)
	defer closeCaptures(caps)
	if err != nil {
		return fail(stderr, err)
	}
	cfg.NetCapture = caps

	closeDebug, err := o.debug.apply(&cfg, signals, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer closeDebug()

	vm, err := monitor.New(cfg)
	if err != nil {
		return failWith(stderr, err, manifest)
	}
	if !processExits {
		defer vm.Close()
	}
	// The segments are in guest memory now: the run has no use for the
	// file, so the locked-down process does not keep it open.
	u.Close()
	prefetched()

	// The guest runs only once a signal ends it as it ends solo5-hvt.
	signals.wait()
	if err := lockDown(o, devs); err != nil {
		return fail(stderr, err)
	}
	status, err := vm.Run(signals.ctx)
	reportCore(vm, stderr)
	// A signal, or a stdout whose reader went away, ends the process
	// here as it ends solo5-hvt.
	signals.exitIfCaught(err)
	if err != nil {
		return fail(stderr, err)
	}
	return status & 0xff
}

type openedDevices struct {
	block map[string]devices.Block
	net   map[string]devices.Net
}

func openDevices(o *runOptions) (openedDevices, error) {
	d := openedDevices{block: map[string]devices.Block{}, net: map[string]devices.Net{}}
	for _, name := range keys(o.block) {
		b, err := devices.OpenBlockFile(o.block[name], devices.BlockOptions{SectorSize: o.sectorSize[name]})
		if err != nil {
			return d, fmt.Errorf("--block:%s: %w", name, err)
		}
		d.block[name] = b
	}
	// Descriptors passed down (@NN) are taken first, so that no tap
	// opened by name can have been given the same number.
	for _, byFD := range []bool{true, false} {
		for _, name := range keys(o.net) {
			flag := "--net:" + name
			fd, isFD, err := tapFD(flag, o.net[name])
			if err != nil {
				return d, err
			}
			if isFD != byFD {
				continue
			}
			var mac devices.MAC // zero: random, as solo5-hvt
			if s, ok := o.netMAC[name]; ok {
				if mac, err = devices.ParseMAC(s); err != nil {
					return d, usagef("--net-mac:%s: %v", name, err)
				}
			}
			var n *devices.Tap
			if isFD {
				n, err = devices.OpenTapFD(fd, mac)
			} else {
				n, err = devices.OpenTap(o.net[name], mac)
			}
			if err != nil {
				return d, fmt.Errorf("%s: %w", flag, err)
			}
			d.net[name] = n
		}
	}
	return d, nil
}

func closeAll(d openedDevices) {
	for _, b := range d.block {
		b.Close()
	}
	for _, n := range d.net {
		n.Close()
	}
}
