package main

import (
	"errors"
	"io"
)

// runBuild is replaced by the Go unikernel builder (issue 4).
func runBuild(args []string, stdout, stderr io.Writer) int {
	return fail(stderr, errors.New("build: not available in this version of unimon"))
}
