// Package sandbox locks a monitor process down once its VMs are set up,
// so that a bug in a hypercall handler, a device backend or the Go
// runtime's handling of guest data gives a hostile guest as little of the
// host as possible.
//
// LockDown is a one-way, process-wide step. Call it after every file,
// tap, KVM fd and guest memory mapping the process will use exists, and
// before the first (*monitor.VM).Run. It
//
//   - closes every file descriptor the process inherited and did not ask
//     to keep (fds above 2 without FD_CLOEXEC: everything Go itself opens
//     has FD_CLOEXEC, so these are the ones a parent leaked or passed);
//   - drops every capability, on every thread: effective, permitted,
//     inheritable, ambient and the bounding set (in a cgo binary, where
//     Go cannot reach every thread, on the calling thread only: the
//     others keep theirs, with no call left in the allowlist to use them);
//   - sets no_new_privs;
//   - installs a seccomp-BPF allowlist on every thread
//     (SECCOMP_FILTER_FLAG_TSYNC; threads the Go runtime creates later
//     inherit it), with a SIGSYS handler that ends the process with one
//     line naming the denied system call and exit status 1. A call of
//     another ABI than the process's own (i386's int $0x80 on amd64,
//     say) kills the process: its numbers name other calls. Policy
//     returns the program (a Filter), which Filter.Action runs in
//     x/net/bpf's VM to show what it decides for any call.
//
// Afterwards the process can no longer open files or devices (open,
// openat), create sockets, pipes or event fds, run programs (execve),
// fork (clone is allowed only for new threads), trace (ptrace), mount,
// change credentials, or map memory executable (mmap and mprotect with
// PROT_EXEC); ioctl is allowed only with the requests a vCPU's run loop
// issues. What stays allowed is listed in Calls, each with the reason
// it is needed. Code the embedder runs afterwards that needs more (the
// gdb stub serving its socket, say) names the calls with Allow.
package sandbox
