//go:build !unimon_nodebug

package monitor_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/unimon/unimon/monitor"
)

// Debug a unikernel with gdb: take gdb's connection (in gdb, `target
// remote 127.0.0.1:1234`), and Run serves it from before the guest's
// first instruction.
func ExampleConfig_gdb() {
	ln, err := net.Listen("tcp", "127.0.0.1:1234")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	conn, err := ln.Accept()
	if err != nil {
		log.Fatal(err)
	}
	vm, err := monitor.New(monitor.Config{Kernel: "app.hvt", GDB: conn})
	if err != nil {
		conn.Close() // still the caller's when New fails
		log.Fatal(err)
	}
	defer vm.Close()
	status, err := vm.Run(context.Background())
	fmt.Println("exit status", status, err)
}
