//go:build !linux

package main

import (
	"os/signal"
	"syscall"
)

// osDieBy: no further signals outside Linux.
var osDieBy []syscall.Signal

// raiseDefault ends the process by sig. No VM runs outside Linux, so only
// a signal during build or info gets here; the portable way will do.
func raiseDefault(sig syscall.Signal) {
	signal.Reset(sig)
	syscall.Kill(syscall.Getpid(), sig)
}
