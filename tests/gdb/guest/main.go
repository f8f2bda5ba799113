// Command guest is the Go unikernel of the debugging tests: it calls tick
// three times (a function to break on, a global to print and watch), then
// exits with status 7; "fault" resets SIGSEGV's handler (else a fault is a
// Go panic) and reads unmapped memory: a crash report and core file.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	_ "github.com/unimon/unimon/bindings"
)

// Ticks is the global the tests print and watch.
var Ticks uint64

//go:noinline
func tick(n uint64) uint64 {
	Ticks += n
	return Ticks
}

//go:noinline
func fault(addr uintptr) uint64 {
	p := *(**uint64)(unsafe.Pointer(&addr)) // addr's bits as a pointer
	return *p
}

func main() {
	for i := uint64(1); i <= 3; i++ {
		tick(i)
	}
	fmt.Println("ticks:", Ticks)
	if len(os.Args) > 1 && os.Args[1] == "fault" {
		// SIGSEGV back to SIG_DFL (the runtime offers no way to do it).
		var act [4]uint64
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
			fmt.Println("rt_sigaction:", e)
		}
		fmt.Println(fault(0x7000_0000_0000))
	}
	os.Exit(7)
}
