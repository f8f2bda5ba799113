//go:build !linux

package main

import (
	"os/signal"
	"syscall"
)

// osDefaultAction: no further signals outside Linux.
var osDefaultAction []syscall.Signal

// restoreDefault does nothing outside Linux: no VM runs there, so a
// signal can only meet build or info, and the Go runtime's handling will
// do for those.
func restoreDefault(sig syscall.Signal) {}

// raiseDefault ends the process by sig. No VM runs outside Linux, so only
// a signal during build or info gets here; the portable way will do.
func raiseDefault(sig syscall.Signal) {
	signal.Reset(sig)
	syscall.Kill(syscall.Getpid(), sig)
}
