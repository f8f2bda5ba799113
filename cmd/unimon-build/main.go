// Command unimon-build is `unimon build`: it builds an ordinary Go program
// into a Solo5 hvt unikernel (internal/gobuild). Users type `unimon
// build`, which runs this binary; it is separate so that the monitor,
// which runs unikernels, does not link (and load at every start) the x86
// decoder, the DWARF reader and os/exec the builder needs. With --test
// first it is `unimon test` (internal/gotest), which builds test binaries
// and runs them; with --pack first, `unimon pack` (internal/ocipack),
// which writes a unikernel as an OCI image (archive/tar, digests and the
// image-spec types, which the monitor does not link either); with --info,
// `unimon info` (internal/kernelinfo: a unikernel's notes as JSON).
//
//	unimon-build [-o FILE] [-manifest FILE.json] [--arch GOARCH] [--net NAME]... [--block NAME]... [--files DIR] [PACKAGE]
//	unimon-build --test [--mem=MiB] [-v] [build flags] [test flags] [PACKAGES] [-- TEST FLAGS]
//	unimon-build --pack [-o FILE.tar] [--name REF] [--mem MiB] [--annotation K=V]... KERNEL [-- ARGS...]
//	unimon-build --info KERNEL
package main

import (
	"os"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/gotest"
	"github.com/unimon/unimon/internal/kernelinfo"
	"github.com/unimon/unimon/internal/ocipack"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--test":
			os.Exit(gotest.Main(os.Args[2:], os.Stdout, os.Stderr))
		case "--pack":
			os.Exit(ocipack.Main(os.Args[2:], os.Stdout, os.Stderr))
		case "--info":
			os.Exit(kernelinfo.Main(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(gobuild.Main(os.Args[1:], os.Stdout, os.Stderr))
}
