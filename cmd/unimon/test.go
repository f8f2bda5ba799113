package main

import "io"

// testFlag makes the builder (cmd/unimon-build) run `unimon test`, which
// builds test binaries and runs them (internal/gotest): it lives there
// so that this binary does not link the builder.
const testFlag = "--test"

// runTest is `unimon test`: go test with each test binary a unikernel.
// Like runBuild, it replaces this process with the builder.
func runTest(args []string, stdout, stderr io.Writer) int {
	return runBuilder("test", append([]string{testFlag}, args...), stderr)
}
