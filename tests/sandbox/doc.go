// Package sandbox holds the end-to-end tests of the CLI under its
// seccomp allowlist: every kind of guest (micro-guests, hostile guests,
// a Go unikernel with a block file and a tap) runs in the real unimon
// binary, locked down by sandbox.LockDown, and any denied system call
// fails the test with the call's name. With -measure the same runs go
// through strace in the sandbox_measure build (which allows every call)
// and the test prints the system calls made after LockDown: that is how
// the allowlist in package sandbox was derived.
package sandbox
