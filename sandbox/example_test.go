package sandbox_test

import (
	"context"
	"log"

	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/sandbox"
)

// An embedder sets up every VM first, then locks the process down, then
// runs them. After LockDown the process cannot create more VMs or open
// anything; it can run, cancel and close the ones it has. (Not run as a
// test: the lock-down is one-way and would lock the test binary.)
func ExampleLockDown() {
	vm, err := monitor.New(monitor.Config{Kernel: "app.hvt", Memory: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Close()
	if err := sandbox.LockDown(); err != nil {
		log.Fatal(err)
	}
	status, err := vm.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("guest exited with status %d", status)
}

// A program that still serves a debugger on a socket it opened before
// LockDown allows the calls that takes.
func ExampleAllow() {
	if err := sandbox.LockDown(sandbox.Allow(sandbox.SocketServerCalls...)); err != nil {
		log.Fatal(err)
	}
}
