// Command hello is the smallest Go unikernel: build it with
//
//	unimon build -o hello.hvt ./examples/hello
//	unimon hello.hvt some arguments
//
// It prints a greeting and its arguments, and exits 0.
package main

import (
	"fmt"
	"os"

	_ "github.com/unimon/unimon/bindings"
)

func main() {
	fmt.Println("Hello from a Go unikernel on unimon!")
	for i, a := range os.Args[1:] {
		fmt.Printf("arg %d: %s\n", i+1, a)
	}
}
