package sandbox_test

import (
	"fmt"
	"log"

	"github.com/unimon/unimon/sandbox"
	"golang.org/x/sys/unix"
)

// An embedder sets up every VM first, then locks the process down, then
// runs them. After LockDown the process cannot create more VMs or open
// anything; it can run, cancel and close the ones it has. (Not run as a
// test: the lock-down is one-way and would lock the test binary.)
//
// The example leaves monitor out so that this package's test binary has
// no cgo (package net brings it in when a C compiler is installed), which
// the child-process tests want: there LockDown drops the capabilities of
// every thread.
func ExampleLockDown() {
	// vm, err := monitor.New(cfg) for every VM, devices opened...
	if err := sandbox.LockDown(); err != nil {
		log.Fatal(err)
	}
	// status, err := vm.Run(ctx)
}

// A program that still serves a debugger on a socket it opened before
// LockDown allows the calls that takes.
func ExampleAllow() {
	if err := sandbox.LockDown(sandbox.Allow(sandbox.SocketServerCalls...)); err != nil {
		log.Fatal(err)
	}
}

// The filter can be asked what it decides for a call without installing
// it: Action runs the program in x/net/bpf's VM, as the kernel would.
func ExampleFilter_Action() {
	f, err := sandbox.Policy()
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []struct {
		call string
		nr   int
		args []uint64
	}{
		{"read", unix.SYS_READ, nil},
		{"openat", unix.SYS_OPENAT, nil},
		{"mmap read-write", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_WRITE}},
		{"mmap executable", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}},
		{"clone3", unix.SYS_CLONE3, nil},
	} {
		action, err := f.Action(c.nr, c.args...)
		if err != nil {
			log.Fatal(err)
		}
		switch action & unix.SECCOMP_RET_ACTION_FULL {
		case unix.SECCOMP_RET_ALLOW:
			fmt.Println(c.call, "allowed")
		case unix.SECCOMP_RET_TRAP:
			fmt.Println(c.call, "denied: SIGSYS")
		case unix.SECCOMP_RET_ERRNO:
			fmt.Println(c.call, "fails with", unix.Errno(action&unix.SECCOMP_RET_DATA))
		}
	}
	// Output:
	// read allowed
	// openat denied: SIGSYS
	// mmap read-write allowed
	// mmap executable denied: SIGSYS
	// clone3 fails with function not implemented
}
