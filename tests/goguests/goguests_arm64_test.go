//go:build linux

package goguests

// The arm64 side of the Go guest tests. This file puts the package in
// the ARM64 lane, which builds the guests for arm64 on the host (Images)
// and runs the tests on arm64 KVM.
