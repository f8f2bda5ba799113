package monitor_test

import (
	"context"
	"embed"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/unimon/unimon/monitor"
)

// The examples' unikernels: a few hundred bytes of machine code for each
// architecture, wrapped in a Solo5 hvt ELF, that prints "Hello, world"
// and its command line, then halts with status 0; and, for
// ExampleVM_CoreFile, one that halts with status 255 at once (Solo5's
// abort).
//
//go:embed testdata/hello-amd64.hvt testdata/hello-arm64.hvt testdata/abort-amd64.hvt testdata/abort-arm64.hvt
var testdata embed.FS

// Run a unikernel in-process and collect its exit status. Devices would
// go in Config.Block and Config.Net, by the names the manifest declares.
func Example() {
	image, err := testdata.ReadFile("testdata/hello-" + runtime.GOARCH + ".hvt")
	if err != nil {
		fmt.Println(err)
		return
	}
	vm, err := monitor.New(monitor.Config{
		KernelImage: image, // or Kernel: "app.hvt"
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

// A guest that aborts (HALT 255) leaves a core file for gdb in DumpCore.
func ExampleVM_CoreFile() {
	dir, err := os.MkdirTemp("", "cores")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	image, err := testdata.ReadFile("testdata/abort-" + runtime.GOARCH + ".hvt")
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

// A program with work to do before its first VM starts KVM's slowest
// answer early, and waits for it before anything that must not race with
// it (New does not need the wait).
func ExamplePrefetch() {
	wait := monitor.Prefetch()
	image, err := testdata.ReadFile("testdata/hello-" + runtime.GOARCH + ".hvt")
	if err != nil {
		fmt.Println(err)
		return
	}
	vm, err := monitor.New(monitor.Config{KernelImage: image, Memory: 32 << 20, Args: []string{"prefetched"}, Console: os.Stdout})
	wait()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer vm.Close()
	status, err := vm.Run(context.Background())
	fmt.Println("exit status", status, err)
	// Output:
	// Hello, world
	// prefetched
	// exit status 0 <nil>
}
