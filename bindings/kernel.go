//go:build linux

package bindings

// DESIGN
//
// The kernel is compiled Go running in user mode (CPL3 on amd64) on its
// own stack with a fake g whose stack guard is 0, so compiled code never
// calls morestack. Its state holds no Go pointers (addresses are
// uintptr, per-object state is in fixed arrays), so it needs no write
// barriers and nothing the garbage collector must see, and nothing on the
// trap path allocates (TestTrapPathDoesNotAllocate walks the call graph
// from ktrap, through the function tables sysTable and fdOps). It runs
// before the Go runtime's init, so its tables are static data.
//
// Every trap of the program enters the architecture's ktrap, which
// decodes it (a system call, a page fault, a timer tick, a fatal
// exception) and calls the neutral kernel: syscall (syscall.go, the one
// dispatcher over the table by number), pageFault (mem.go) or schedule
// (sched.go); resume (here) then returns to the current thread.
//
// Neutral files (//go:build linux): syscall.go (the result convention
// and dispatcher), fdops.go (fds, the fd-kind operation table and the
// fd system calls), epoll.go, futex.go, sched.go (threads, one CPU),
// mem.go (frames, VMAs, demand paging, copyIn/copyOut, mmap), signal.go,
// time.go (clock from the cycle counter, sleeps), dev.go (block and net
// devices as fds), proc.go (the initial process stack, rlimits),
// options.go (the --unimon: options), vfs.go (the mount table and the
// path system calls), tmpfs.go (/tmp), treefs.go (the packed read-only
// tree at /), devfiles.go (/dev/null and friends), pipe.go, fault.go
// (stats).
//
// Architecture files (amd64): cpu_amd64.go and cpu_amd64.s (boot, the
// register frame, the system call convention, hypercalls, the cycle
// counter), layout_amd64.go (the fixed memory layout; layout_amd64.h is
// generated from it), trap_amd64.go (vectors, IDT, crash report),
// mmu_amd64.go (page-table format), sigframe_amd64.go, timer_amd64.go
// (x2APIC), vdso.go (the vDSO image), syscalls_amd64.go (the table by x86_64
// number). cpu_noport.go lists the interface for other architectures.

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// ptr turns an address into a pointer without a conversion go vet flags;
// every address the kernel dereferences is identity-mapped RAM it owns.
//
//go:nosplit
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

func u64at(a uintptr) *uint64 { return (*uint64)(ptr(a)) }

var (
	booted  bool
	memSize uintptr
	freq    uint64
)

// resume returns to the current thread, whose registers are in the frame.
func resume() {
	t := &threads[cur]
	if t.pending != 0 {
		deliver(curFrame(), t)
	}
	if needFlush {
		needFlush = false
		cpuFlushTLB()
	}
	cpuResume(t)
}

// enterTrap starts every architecture's ktrap: the first trap is the
// boot (kinit, then the first thread runs); the others return the
// trapping thread and its frame.
func enterTrap() (*frame, *thread) {
	if !booted {
		kinit()
		booted = true
		resume()
	}
	stats.traps++
	return curFrame(), &threads[cur]
}

// timerTick is a tick of the architecture's timer: the running thread
// yields once it has used its time slice.
func timerTick(f *frame, t *thread) {
	stats.ticks++
	if now()-t.since >= timeSlice {
		schedule(f)
	}
}

var bootInfo guestabi.BootInfo

func kinit() {
	bootInfo.Decode((*[guestabi.BootInfoSize]byte)(ptr(guestabi.BootInfoAddr))[:])
	memSize = uintptr(bootInfo.MemSize)
	freq = bootInfo.CPUCycleFreq
	if buildInfo[0] != buildInfoPatched {
		puts("unimon bindings: this binary was not made by `unimon build` (SYSCALL instructions not patched)\n")
		halt(1)
	}
	cpuInit()
	initTime()
	initFrames()
	initVDSO()
	parseOptions()
	initTmpfs()
	initTree()
	initNetDevs()
	initTimer()
	initProcess()
}

// hcArg holds the argument struct of the hypercall in progress: kernel
// data is identity mapped below 4 GiB, as the ABI's 32-bit argument
// pointers require. Callers encode into it with guestabi's layouts and
// decode the monitor's answer from it.
var hcArg [guestabi.BlockIOSize]byte // the largest argument struct

// hypercall issues hypercall nr with its argument struct in hcArg.
func hypercall(nr guestabi.Hypercall) {
	stats.hypercalls++
	cpuHypercall(nr, uintptr(unsafe.Pointer(&hcArg)))
}

// halt ends the unikernel with status.
func halt(status int) { haltCookie(status, 0) }

// haltCookie ends the unikernel with status and the HALT cookie at
// guest-physical address cookie (0: none), which a monitor's core file
// reads (haltTrap). The console's buffered line goes out first.
func haltCookie(status int, cookie uintptr) {
	consoleFlush()
	h := guestabi.Halt{ExitStatus: int32(status), Cookie: uint64(cookie)}
	h.Encode(hcArg[:])
	for {
		hypercall(guestabi.HypercallHalt)
	}
}

// putsPhys prints n bytes at guest-physical address pa, after what the
// program's writes left in the console buffer.
func putsPhys(pa, n uintptr) {
	consoleFlush()
	putsRaw(pa, n)
}

// putsRaw is the PUTS hypercall.
func putsRaw(pa, n uintptr) {
	if n == 0 {
		return
	}
	p := guestabi.Puts{Data: uint64(pa), Len: uint64(n)}
	p.Encode(hcArg[:])
	hypercall(guestabi.HypercallPuts)
}

// puts prints a kernel string (the kernel's image is identity mapped).
func puts(s string) {
	putsPhys(uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(len(s)))
}

func walltime() uint64 {
	var w guestabi.Walltime
	w.Encode(hcArg[:])
	hypercall(guestabi.HypercallWalltime)
	w.Decode(hcArg[:])
	return w.Nsecs
}

// pollHost sleeps in the monitor for at most ns nanoseconds, or until a
// net device has input; it returns POLL's ready_set (bit i: handle i).
func pollHost(ns int64) uint64 {
	if ns < 0 {
		ns = 0
	}
	consoleFlush() // before sleeping: what was written shows now
	p := guestabi.Poll{TimeoutNsecs: uint64(ns)}
	p.Encode(hcArg[:])
	stats.polls++
	hypercall(guestabi.HypercallPoll)
	lastPoll = now()
	p.Decode(hcArg[:])
	return p.ReadySet
}

var stats struct {
	traps, syscalls, faults, hypercalls, polls, ticks, switches, signals, delivered, netDropped uint64
}
