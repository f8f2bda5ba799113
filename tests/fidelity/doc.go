// Package fidelity holds the end-to-end tests of issue 8: a Go program
// in a unikernel behaves as on Linux (faults are Go panics, stacks grow
// as Go's do, the environment, disks that sync). The guest program in
// ./guest is built with unimon build inside the test and run under the
// monitor with a block device "disk" attached.
package fidelity
