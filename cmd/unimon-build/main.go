// Command unimon-build is `unimon build` and `unimon test`: it builds an
// ordinary Go program into a Solo5 hvt unikernel (internal/gobuild), or
// each package's tests into unikernels that it runs like go test
// (internal/gotest). Users type `unimon build` or `unimon test`, which run
// this binary; it is separate so that the monitor, which runs unikernels,
// does not link (and load at every start) the x86 decoder, the DWARF
// reader and os/exec the builder needs.
//
//	unimon-build [build] [-o FILE] [-manifest FILE.json] [--arch GOARCH] [--net NAME]... [--block NAME]... [--files DIR] [PACKAGE]
//	unimon-build test [--mem=MiB] [-v] [build flags] [test flags] [PACKAGES] [-- TEST FLAGS]
package main

import (
	"io"
	"os"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/gotest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches on the command unimon names first (cmd/unimon/build.go
// always names it, so `unimon build test` builds a package called test);
// without one, the arguments are build's.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "build":
			return gobuild.Main(args[1:], stdout, stderr)
		case "test":
			return gotest.Main(args[1:], stdout, stderr)
		}
	}
	return gobuild.Main(args, stdout, stderr)
}
