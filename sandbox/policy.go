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

// Calls is the allowlist without argument filters, measured on amd64 and
// checked on arm64 (the ARM64 lane runs the CLI and package sandbox's
// tests under it), where every name is the same.
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
	// glibc, in a cgo binary (the default go build where a C compiler is
	// installed): every new thread registers these, with signals blocked.
	{"rseq", "glibc: a new thread's restartable sequences"},
	{"set_robust_list", "glibc: a new thread's robust futex list"},
	{"exit_group", "the process ending"},
}

// argCall is a system call allowed only with some argument values: when
// every condition of one of the sets in Any holds.
type argCall struct {
	Name string
	Why  string
	Any  [][]cond
}

// cond is a test of one 64-bit argument of a call. The filter compares
// both 32-bit halves (classic BPF loads 32 bits at a time), so high bits
// cannot sneak past a test of the low ones.
type cond struct {
	arg int // 0 to 5
	op  op
	val uint64
}

// op is what a cond tests.
type op int

const (
	equal     op = iota // the argument is val
	anyBitSet           // the argument has one of val's bits
	noBitSet            // the argument has none of val's bits
)

// cloneNamespaces are the clone flags that make new namespaces: a thread
// has no use for them, and with a capability left on some thread (see
// dropCapabilities) they could reach outside the process.
const cloneNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// argCalls are the calls allowed with argument filters on a, for process
// pid. ioctl comes first: KVM_RUN is the call the vCPU loop makes on
// every exit, and the kernel's per-call cache of constant verdicts
// (Linux 5.11 and later) spares the filter run for the calls allowed
// outright, never for these.
func argCalls(a *arch, pid int) []argCall {
	ioctls := make([][]cond, len(a.runIoctls))
	for i, req := range a.runIoctls {
		ioctls[i] = []cond{{1, equal, req}}
	}
	return []argCall{
		{"ioctl", "the vCPU run loop only", ioctls},
		{"mmap", "Go heap; never executable", [][]cond{{{2, noBitSet, unix.PROT_EXEC}}}},
		{"mprotect", "Go runtime; never executable", [][]cond{{{2, noBitSet, unix.PROT_EXEC}}}},
		{"clone", "Go runtime: new threads only, never processes or namespaces", [][]cond{{
			{0, anyBitSet, unix.CLONE_THREAD},
			{0, noBitSet, cloneNamespaces},
		}}},
		{"tgkill", "Kick and Go's preemption: signals to this process's own threads only", [][]cond{{{0, equal, uint64(pid)}}}},
	}
}

// SocketServerCalls are what a server on an already listening socket
// (the gdb stub) needs beyond Calls, for Allow: accepting (accept4), the
// Go netpoller registering the new connection (epoll_ctl), socket
// options Go sets on it, and the socket forms of read and write.
var SocketServerCalls = []string{"accept4", "epoll_ctl", "recvfrom", "sendto", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername"}
