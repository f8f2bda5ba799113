package main

import (
	"fmt"
	"runtime"

	"github.com/unimon/unimon/monitor"
)

// foreignArchError is a unikernel built for another architecture than
// this host's: its hint says where it can run.
type foreignArchError struct {
	arch string
	err  error
}

func (e *foreignArchError) Error() string { return e.err.Error() }
func (e *foreignArchError) Unwrap() error { return e.err }

func (e *foreignArchError) hint() string {
	h := fmt.Sprintf("It is an %s unikernel and this host runs %s: run it on a Linux %s host with KVM", e.arch, runtime.GOARCH, e.arch)
	if e.arch == "arm64" {
		h += ", or here with scripts/arm64-run (an arm64 VM under qemu)"
	}
	return h + "."
}

// whyNotRunnable explains an error of monitor.OpenUnikernel on path: a
// unikernel for the other architecture gets a *foreignArchError.
func whyNotRunnable(path string, err error) error {
	f, oerr := monitor.OpenKernel(path)
	if oerr != nil {
		return err
	}
	defer f.Close()
	if d, derr := monitor.Describe(f); derr == nil && d.Arch != runtime.GOARCH {
		return &foreignArchError{arch: d.Arch, err: err}
	}
	return err
}
