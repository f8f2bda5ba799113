// Package goguests holds the end-to-end tests of Go unikernels (issue 4):
// the guest program in ./guest is built with unimon build
// (internal/gobuild) inside the test, run under the monitor, and judged by
// its console output and exit status. Go unikernels are x86_64 only, so
// the tests are too.
package goguests
