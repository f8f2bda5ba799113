package main

import "github.com/unimon/unimon/internal/microguest"

// archFault is the guest TestCLIGuestFaultIsOneLine runs and what its
// error line must name: on x86_64 the classic way to lose a guest, a
// triple fault, which only KVM_EXIT_SHUTDOWN reports.
func archFault() (image []byte, want string) {
	return microguest.TripleFault(), "guest fault: triple fault"
}
