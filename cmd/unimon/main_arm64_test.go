package main

import "github.com/unimon/unimon/internal/microguest"

// archFault is the guest TestCLIGuestFaultIsOneLine runs and what its
// error line must name: on arm64 a store to an MMIO address that is not a
// hypercall. (This file also puts the package in the ARM64 lane, which
// runs every package with an *_arm64_test.go file.)
func archFault() (image []byte, want string) {
	return microguest.A64BadMMIO(), "mmio=0x100000048"
}
