//go:build !linux

package kvm

import (
	"fmt"
	"runtime"
)

// CheckHostOS refuses every system but Linux: KVM is a Linux interface.
// The rest of the package still compiles, so that the monitor's API and
// the unimon tool (build, info) work on macOS and elsewhere.
func CheckHostOS() error {
	return fmt.Errorf("%w: running a unikernel needs Linux with KVM, and this is %s/%s: build here and run it on a Linux host (or, for arm64 unikernels, in scripts/arm64-run on a Linux x86_64 machine)",
		ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}

func gettid() int { return 0 }

func signalThread(tid int) {}
