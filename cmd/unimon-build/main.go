// Command unimon-build is `unimon build`: it builds an ordinary Go program
// into a Solo5 hvt unikernel (internal/gobuild). Users type `unimon
// build`, which runs this binary; it is separate so that the monitor,
// which runs unikernels, does not link (and load at every start) the x86
// decoder, the DWARF reader and os/exec the builder needs.
//
//	unimon-build [-o FILE] [-manifest FILE.json] [--net NAME]... [--block NAME]... [PACKAGE]
package main

import (
	"os"

	"github.com/unimon/unimon/internal/gobuild"
)

func main() {
	os.Exit(gobuild.Main(os.Args[1:], os.Stdout, os.Stderr))
}
