package main

import (
	"io"

	"github.com/unimon/unimon/internal/gobuild"
)

// runBuild is `unimon build`: the Go unikernel builder of internal/gobuild.
func runBuild(args []string, stdout, stderr io.Writer) int {
	return gobuild.Main(args, stdout, stderr)
}
