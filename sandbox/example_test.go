package sandbox_test

import (
	"log"

	"github.com/unimon/unimon/sandbox"
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
