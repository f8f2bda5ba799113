// Package goguests holds the end-to-end tests of Go unikernels (issue 4):
// the guest program in ./guest is built with unimon build
// (internal/gobuild) inside the test, run under the monitor, and judged by
// its console output and exit status. They run on amd64 and, in the
// ARM64 lane, on arm64, with the same assertions (images.go: the guests,
// which the lane builds for arm64 on the host).
package goguests
