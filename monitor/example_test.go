package monitor_test

import (
	"context"
	"fmt"
	"os"

	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// Run a unikernel in-process and collect its exit status. Devices would
// go in Config.Block and Config.Net, by the names the manifest declares.
func Example() {
	vm, err := monitor.New(monitor.Config{
		KernelImage: microguest.Host.Hello(), // or Kernel: "app.hvt"
		Memory:      32 << 20,
		Args:        []string{"from", "Go"},
		Console:     os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer vm.Close()
	status, err := vm.Run(context.Background())
	fmt.Println("exit status", status, err)
	// Output:
	// Hello, world
	// from Go
	// exit status 0 <nil>
}
