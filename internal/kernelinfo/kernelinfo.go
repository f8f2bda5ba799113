// Package kernelinfo is `unimon info`: what a unikernel file says about
// itself (its architecture, ABI, manifest, feature requests and boot
// working set), as JSON.
// It runs in the builder binary (unimon-build --info), as solo5-elftool
// is apart from solo5-hvt upstream: encoding/json and what it brings are
// 0.2 MB of binary that every run of the monitor would otherwise load
// (issue 12).
package kernelinfo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/guestabi/manifestjson"
	"github.com/unimon/unimon/internal/clitext"
	"github.com/unimon/unimon/monitor"
)

// Usage is `unimon info`'s synopsis.
const Usage = "usage: unimon info KERNEL"

// Output is what `unimon info` prints.
type Output struct {
	File     string                `json:"file"`
	Arch     string                `json:"arch"` // GOARCH's name for the ELF machine
	ABI      ABI                   `json:"abi"`
	Manifest manifestjson.Manifest `json:"manifest"`
	// Requests lists the machine features the unikernel asks for with
	// unimon's feature note ("irqchip"); empty for upstream unikernels.
	Requests []string `json:"requests"`
	// BootWorkingSet lists the memory the unikernel says it writes as it
	// boots (unimon's boot working set note); empty for upstream
	// unikernels.
	BootWorkingSet []Range `json:"boot_working_set"`
}

// Range is a guest-physical range: its start (hex) and length in bytes.
type Range struct {
	Start  string `json:"start"`
	Length uint64 `json:"length"`
}

// ABI is the unikernel's ABI note: its target ("hvt", else the number)
// and version.
type ABI struct {
	Target  string `json:"target"`
	Version uint32 `json:"version"`
}

// Main runs `unimon info` with args (what follows "info") and returns
// the exit status: 0, or 1 with one line (and a hint) on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprintln(stderr, Usage)
		return 0
	case len(args) != 1:
		return clitext.Fail(stderr, errors.New(Usage), "Try 'unimon --help' for the options.")
	}
	out, err := describe(args[0])
	if err != nil {
		return clitext.Fail(stderr, err, clitext.KernelHint(err))
	}
	text, err := json.MarshalIndent(out, "", "  ")
	if err == nil {
		_, err = fmt.Fprintf(stdout, "%s\n", text)
	}
	if err != nil {
		return clitext.Fail(stderr, fmt.Errorf("writing the description: %w", err), "")
	}
	return 0
}

// describe reads the unikernel at path, of any architecture: an arm64
// build is described on an amd64 host too, so a cross-build can be
// checked where it was made.
func describe(path string) (*Output, error) {
	f, err := monitor.OpenKernel(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := monitor.Describe(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	requests := []string{}
	if d.Requests&guestabi.RequestIRQChip != 0 {
		requests = append(requests, "irqchip")
	}
	target := fmt.Sprint(d.ABI.Target)
	if d.ABI.Target == guestabi.ABITargetHVT {
		target = "hvt"
	}
	ws := []Range{}
	for _, r := range d.WorkingSet {
		ws = append(ws, Range{Start: fmt.Sprintf("%#x", r.Start), Length: r.Len})
	}
	return &Output{File: path, Arch: d.Arch, ABI: ABI{Target: target, Version: d.ABI.Version},
		Manifest: manifestjson.From(d.Manifest), Requests: requests, BootWorkingSet: ws}, nil
}
