package sandbox

import "golang.org/x/sys/unix"

// Call is one system call the allowlist permits, and why.
type Call struct {
	Name string
	// Why is the user of the call after LockDown, for the README and
	// reviews. The list is what `go test ./tests/sandbox -measure` saw
	// every kind of guest make under strace, plus what the Go runtime
	// makes only under memory pressure or when a thread ends (mmap,
	// madvise, exit) or a sleep is interrupted (restart_syscall).
	Why string
}

// Calls is the allowlist without argument filters, measured on amd64.
var Calls = []Call{
	// The vCPU loop and the hypercalls.
	{"read", "net devices (tap, in-process pipe eventfds), the Go netpoller's wake-up"},
	{"write", "console, net devices, stderr, the core's interrupt eventfd"},
	{"pread64", "BLOCK_READ on a block file (os.File.ReadAt)"},
	{"pwrite64", "BLOCK_WRITE on a block file (os.File.WriteAt)"},
	{"epoll_pwait", "POLL hypercall, the Go netpoller"},
	{"timerfd_settime", "POLL's timeout"},
	{"clock_gettime", "WALLTIME, and Go's clock where the vDSO is missing"},
	{"close", "VM.Close and device Close once the guest has halted"},
	{"munmap", "VM.Close unmapping guest memory and the vCPU run page; the Go heap"},
	{"tgkill", "Kick: stopping a vCPU thread inside KVM_RUN; Go's preemption signals"},
	{"gettid", "binding a vCPU to its thread"},
	{"getpid", "Kick and Go's signal code"},
	// The Go runtime.
	{"futex", "Go runtime: goroutine and thread parking"},
	{"madvise", "Go runtime: returning heap memory"},
	{"sched_yield", "Go runtime: spinning"},
	{"nanosleep", "Go runtime: sysmon and usleep"},
	{"rt_sigaction", "Go runtime: signal.Notify and signal.Stop (the CLI's SIGTERM handling)"},
	{"rt_sigprocmask", "Go runtime: new threads and signal delivery"},
	{"rt_sigreturn", "returning from any signal handler"},
	{"sigaltstack", "Go runtime: each new thread's signal stack"},
	{"sched_getaffinity", "Go runtime: GOMAXPROCS"},
	{"restart_syscall", "a sleep interrupted by a signal"},
	{"exit", "a Go thread ending"},
	{"exit_group", "the process ending"},
}

// argCall is a system call allowed only with some argument values.
type argCall struct {
	Name string
	Why  string
	// Arg is the argument index; the call is allowed when the argument
	// has Bits set (Set true) or clear (Set false), or, when Equal is not
	// empty, equals one of its values.
	Arg   uint32
	Bits  uint64
	Set   bool
	Equal []uint64
}

// argCalls are the calls allowed with argument filters.
var argCalls = []argCall{
	{Name: "mmap", Why: "Go heap; never executable", Arg: 2, Bits: unix.PROT_EXEC},
	{Name: "mprotect", Why: "Go runtime; never executable", Arg: 2, Bits: unix.PROT_EXEC},
	{Name: "clone", Why: "Go runtime: new threads only, never processes", Arg: 0, Bits: unix.CLONE_THREAD, Set: true},
	{Name: "ioctl", Why: "the vCPU run loop only", Arg: 1, Equal: runIoctls},
}

// SocketServerCalls are what a server on an already listening socket
// (the gdb stub) needs beyond Calls, for Allow.
var SocketServerCalls = []string{"accept4", "recvfrom", "sendto", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername"}
