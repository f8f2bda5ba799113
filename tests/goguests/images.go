package goguests

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/unimon/unimon/internal/gobuild"
)

// The device guest is ./guest built again with a block device "disk" and
// a net device "net0" in its manifest: the monitor insists that every
// declared device is attached, so the plain guest cannot declare them.
const (
	devBlock = "disk"
	devNet   = "net0"
)

// Images are the Go unikernels the tests boot (tests/goguests' and
// tests/fidelity's), by file name: what unimon build makes each from
// (packages and file trees relative to the module root). The tests build
// them for the machine they run on; the ARM64 lane builds
// them for arm64 on the host (BuildImage) and the tests find them in the
// directory laneproto.GoGuestsEnv names.
var Images = map[string]gobuild.Options{
	"guest.hvt":     {Package: "./tests/goguests/guest"},
	"devguest.hvt":  {Package: "./tests/goguests/guest", Block: []string{devBlock}, Net: []string{devNet}},
	"hello.hvt":     {Package: "./examples/hello"},
	"bootcount.hvt": {Package: "./examples/bootcount", Block: []string{"storage"}},
	// The networking tests' guest (netstack linked in), by the net
	// devices in its manifest: netGuestImage names them.
	netGuestImage():                      {Package: netGuestPkg},
	netGuestImage("service0"):            {Package: netGuestPkg, Net: []string{"service0"}},
	netGuestImage("service0", "backend"): {Package: netGuestPkg, Net: []string{"service0", "backend"}},
	// tests/fidelity's guest, with its file tree and a block device.
	FidelityImage: {Package: "./tests/fidelity/guest", Block: []string{"disk"}, Files: "tests/fidelity/testdata/files"},
}

// FidelityImage is the name in Images of tests/fidelity's guest.
const FidelityImage = "fidelity.hvt"

const netGuestPkg = "./tests/goguests/netguest"

// netGuestImage is the name in Images of ./netguest with the net devices
// nets in its manifest.
func netGuestImage(nets ...string) string {
	name := "netguest"
	for _, n := range nets {
		name += "-" + n
	}
	return name + ".hvt"
}

// BuildImage builds Images[name] for arch ("" for the default) into dir,
// with root the module root.
func BuildImage(ctx context.Context, root, dir, name, arch string) (string, error) {
	opts, ok := Images[name]
	if !ok {
		return "", fmt.Errorf("goguests: no image %q", name)
	}
	var log bytes.Buffer
	opts.Output, opts.Dir, opts.Arch, opts.Stderr = filepath.Join(dir, name), root, arch, &log
	if _, err := gobuild.Build(ctx, opts); err != nil {
		return "", fmt.Errorf("unimon build %s: %w\n%s", name, err, log.String())
	}
	return opts.Output, nil
}
