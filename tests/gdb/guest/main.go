// Command guest is the Go unikernel of the debugging tests: it calls
// tick three times (a function to break on by name, a global to print and
// watch), then exits with status 7; with the argument "fault" it
// dereferences a pointer into unmapped memory instead, which ends the
// unikernel with a fault (and a core file under --dumpcore).
package main

import (
	"fmt"
	"os"
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
		fmt.Println(fault(0x7000_0000_0000))
	}
	os.Exit(7)
}
