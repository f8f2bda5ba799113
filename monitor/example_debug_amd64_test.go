package monitor_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"

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

// A guest that aborts (HALT 255) leaves a core file for gdb in DumpCore.
func ExampleVM_CoreFile() {
	dir, err := os.MkdirTemp("", "cores")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	image, err := testdata.ReadFile("testdata/abort-amd64.hvt")
	if err != nil {
		log.Fatal(err)
	}
	vm, err := monitor.New(monitor.Config{
		KernelImage: image,
		Memory:      8 << 20,
		DumpCore:    dir,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Close()
	status, _ := vm.Run(context.Background())
	core, err := vm.CoreFile()
	fmt.Println(status, strings.HasPrefix(filepath.Base(core), "core.unimon."), err)
	// Output: 255 true <nil>
}
