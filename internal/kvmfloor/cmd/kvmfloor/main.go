//go:build amd64

// Command kvmfloor runs a unikernel with package kvmfloor: the process
// floor `make bench` compares unimon's start-to-exit time and RSS with.
//
//	kvmfloor [--mem=MiB] KERNEL [ARGS...]
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/unimon/unimon/internal/kvmfloor"
)

func main() {
	args := os.Args[1:]
	var o kvmfloor.Options
	if len(args) > 0 && strings.HasPrefix(args[0], "--mem=") {
		mib, err := strconv.ParseUint(strings.TrimPrefix(args[0], "--mem="), 10, 32)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kvmfloor:", err)
			os.Exit(1)
		}
		o.Memory, args = mib<<20, args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: kvmfloor [--mem=MiB] KERNEL [ARGS...]")
		os.Exit(1)
	}
	// Read straight from the file into guest memory, as unimon does.
	f, err := os.Open(args[0])
	if err == nil {
		o.Cmdline, o.Out = strings.Join(args[1:], " "), os.Stdout
		var status int
		status, err = kvmfloor.Run(f, o)
		if err == nil {
			os.Exit(status)
		}
	}
	fmt.Fprintln(os.Stderr, "kvmfloor:", err)
	os.Exit(1)
}
