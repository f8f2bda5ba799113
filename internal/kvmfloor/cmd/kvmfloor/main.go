//go:build amd64

// Command kvmfloor runs a micro-guest with package kvmfloor: the process
// floor `make bench` compares unimon's start-to-exit time and RSS with.
package main

import (
	"fmt"
	"os"

	"github.com/unimon/unimon/internal/kvmfloor"
)

func main() {
	image, err := os.ReadFile(os.Args[1])
	if err == nil {
		var status int
		status, err = kvmfloor.Run(image, os.Stdout)
		if err == nil {
			os.Exit(status)
		}
	}
	fmt.Fprintln(os.Stderr, "kvmfloor:", err)
	os.Exit(1)
}
