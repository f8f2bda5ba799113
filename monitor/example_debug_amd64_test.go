package monitor_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/unimon/unimon/monitor"
)

// Debug a unikernel with gdb: Run waits for gdb on the listener before
// the guest's first instruction; in gdb, `target remote 127.0.0.1:1234`.
func ExampleConfig_gdb() {
	ln, err := net.Listen("tcp", "127.0.0.1:1234")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	vm, err := monitor.New(monitor.Config{Kernel: "app.hvt", GDB: ln})
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Close()
	status, err := vm.Run(context.Background())
	fmt.Println("exit status", status, err)
}
