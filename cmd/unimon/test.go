package main

import (
	"io"

	"github.com/unimon/unimon/internal/gotest"
)

// runTest is `unimon test`: go test with each test binary a unikernel
// (internal/gotest).
func runTest(args []string, stdout, stderr io.Writer) int {
	return gotest.Main(args, stdout, stderr)
}
