//go:build !linux

package main

// lockDownProcess does nothing where no VM runs (the sandbox package is
// Linux's: seccomp, capabilities).
func lockDownProcess(*runOptions, openedDevices) error { return nil }
