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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/guestmem"
)

// version is set at link time by the Makefile.
var version = "dev"

const usageText = `usage: unimon [OPTIONS] [--] KERNEL [ARGS...]
       unimon info KERNEL
       unimon build [-o FILE] [-manifest FILE.json] [--net NAME]... [--block NAME]... [PACKAGE]

Runs the Solo5 hvt unikernel KERNEL on KVM (a drop-in for solo5-hvt).

Core options:
  --mem=MiB                     guest memory in MiB (default 512, rounded down
                                to 2 MiB, at most 4096)
  --help                        print this text and exit 1 (as solo5-hvt)
  --version                     print the version and ABI version and exit 0
Module block:
  --block:NAME=PATH             attach block device NAME to the file PATH
  --block-sector-size:NAME=N    sector size of NAME (power of two >= 512, default 512)
  --block=PATH                  attach the unikernel's only block device
Module net:
  --net:NAME=IFACE              attach net device NAME to the existing tap IFACE
  --net-mac:NAME=HWADDR         guest MAC of NAME (default: random, locally administered)
  --net=IFACE                   attach the unikernel's only net device

Commands:
  info KERNEL                   print the ABI and manifest of KERNEL as JSON
  build ...                     build a Go program into a unikernel (see unimon build -h)

Exit status: the guest's; 1 on a monitor error, a guest fault or a signal.
`

func main() {
	lockDown = lockDownProcess
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "info":
			return runInfo(args[1:], stdout, stderr)
		case "build":
			return runBuild(args[1:], stdout, stderr)
		}
	}
	o, err := parseRunArgs(args)
	if err != nil {
		return fail(stderr, err)
	}
	switch {
	case o.help:
		fmt.Fprint(stderr, usageText)
		return 1
	case o.version:
		fmt.Fprintf(stderr, "unimon tender, version %s\nABI version %d\n", version, guestabi.ABIVersion)
		return 0
	}
	return runKernel(o, stdout, stderr)
}

// fail prints err as one line, with a hint for command-line mistakes.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "unimon: %v\n", err)
	var ue *usageError
	var de *monitor.DeviceError
	switch {
	case errors.As(err, &de) && errors.Is(err, monitor.ErrNotAttached) && de.Type == guestabi.DeviceBlockBasic:
		fmt.Fprintf(stderr, "Attach it with --block:%s=PATH (or --block=PATH if it is the only one).\n", de.Name)
	case errors.As(err, &de) && errors.Is(err, monitor.ErrNotAttached):
		fmt.Fprintf(stderr, "Attach it to a tap with --net:%s=TAP (or --net=TAP if it is the only one).\n", de.Name)
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "Try 'unimon --help' for the options.")
	}
	return 1
}

func runKernel(o *runOptions, stdout, stderr io.Writer) int {
	f, err := os.Open(o.kernel)
	if err != nil {
		return fail(stderr, fmt.Errorf("cannot open unikernel: %w", err))
	}
	defer f.Close()
	_, manifest, err := monitor.Inspect(f)
	if err != nil {
		return fail(stderr, fmt.Errorf("%s: %w", o.kernel, err))
	}
	if err := o.resolve(manifest); err != nil {
		return fail(stderr, err)
	}

	cfg := monitor.Config{Kernel: o.kernel, Args: o.args, Console: stdout}
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

	vm, err := monitor.New(cfg)
	if err != nil {
		return fail(stderr, err)
	}
	defer vm.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := lockDown(devs); err != nil {
		return fail(stderr, err)
	}
	status, err := vm.Run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "unimon: exiting on signal")
			return 1
		}
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
	for _, name := range keys(o.net) {
		var mac []byte
		if s, ok := o.netMAC[name]; ok {
			m, err := devices.ParseMAC(s)
			if err != nil {
				return d, &usageError{fmt.Sprintf("--net-mac:%s: %v", name, err)}
			}
			mac = m
		}
		n, err := devices.OpenTap(o.net[name], mac)
		if err != nil {
			return d, fmt.Errorf("--net:%s: %w", name, err)
		}
		d.net[name] = n
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

// infoOutput is what `unimon info` prints.
type infoOutput struct {
	File     string                `json:"file"`
	ABI      infoABI               `json:"abi"`
	Manifest guestabi.ManifestJSON `json:"manifest"`
	// Requests lists the machine features the unikernel asks for with
	// unimon's feature note ("irqchip"); empty for upstream unikernels.
	Requests []string `json:"requests"`
}

type infoABI struct {
	Target  string `json:"target"`
	Version uint32 `json:"version"`
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || slices.Contains([]string{"-h", "--help"}, args[0]) {
		return fail(stderr, usagef("usage: unimon info KERNEL"))
	}
	f, err := os.Open(args[0])
	if err != nil {
		return fail(stderr, fmt.Errorf("cannot open unikernel: %w", err))
	}
	defer f.Close()
	abi, m, err := monitor.Inspect(f)
	if err != nil {
		return fail(stderr, fmt.Errorf("%s: %w", args[0], err))
	}
	request, err := monitor.FeatureRequest(f)
	if err != nil {
		return fail(stderr, fmt.Errorf("%s: %w", args[0], err))
	}
	requests := []string{}
	if request&guestabi.RequestIRQChip != 0 {
		requests = append(requests, "irqchip")
	}
	target := fmt.Sprintf("%d", abi.Target)
	if abi.Target == guestabi.ABITargetHVT {
		target = "hvt"
	}
	out, _ := json.MarshalIndent(infoOutput{File: args[0], ABI: infoABI{Target: target, Version: abi.Version}, Manifest: m.JSON(), Requests: requests}, "", "  ")
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}
