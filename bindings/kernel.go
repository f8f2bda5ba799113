//go:build linux

package bindings

// DESIGN
//
// Memory: guest RAM is identity mapped at its physical addresses with user
// pages (2 MiB, except the first 2 MiB, whose page 0 and the kernel stack
// guard page are left out). The fixed private area 0x20000-0xFFFFF holds
// the GDT, TSS, IDT, the initial page tables, the CPL0 trap stack and the
// interrupt (IST1) stack, the kernel stack and its frame, the fake g, the
// trampoline page and the vDSO (layout_amd64.h). Free frames are [image end, RAM
// end), allocated by a bump pointer and recycled through a list threaded
// through the free frames themselves. The program's own address space
// (everything the Go runtime mmaps, and its initial stack) lives above
// 4 GiB and is paged on demand: a VMA table records what is mapped and a
// page fault inside a VMA gets a zeroed frame.
//
// Privilege: only assembly runs at CPL0 (cpu_amd64.s). The kernel is
// compiled Go running at CPL3 on the kernel stack with a fake g whose
// stack guard is 0, so compiled code never calls morestack. Its state
// holds no Go pointers (addresses are uintptr), so it needs no write
// barriers and nothing the garbage collector must see, and nothing on the
// trap path allocates (TestTrapPathDoesNotAllocate checks the call graph).
//
// Trap path: the program (CPL3) traps -> a stub (CPL0, a dozen
// instructions, no register touched) adds the vector and CR2 to the
// CPU's frame on the USER_TOP stack and irets into kentry (CPL3) -> kentry
// saves the registers into the frame at frameAddr, points the trapping
// thread's TLS g slot at the fake g and calls ktrap -> ktrap emulates,
// possibly switches threads by copying frames -> resumeUser restores the
// g slot, changes the FS base through CPL0 only if the thread changed,
// and returns to the program with a plain jump (trampTail): a system call
// costs one exception and one iretq. Hypercalls, TLB flushes and MSR
// accesses are kcalls: a UD2 at trampUD2 that the CPL0 #UD stub serves.
// The kernel runs with interrupts on (the program inherits the flag); the
// timer has its own stack, and ticks that land in the kernel are dropped.
//
// Threads and time: sched.go (one CPU, switches at blocking calls, at
// system calls after a 10 ms slice, and on timer ticks), time.go (TSC
// clock and the vDSO), signal.go (SIGURG delivery for the runtime's
// asynchronous preemption), timer.go (the x2APIC timer, when the monitor
// offers an irqchip).
//
// Devices: dev.go (block and net devices as files, net readiness from
// POLL into epoll).

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

func halt(status int) {
	h := guestabi.Halt{ExitStatus: int32(status)}
	h.Encode(hcArg[:])
	for {
		hypercall(guestabi.HypercallHalt)
	}
}

// putsPhys prints n bytes at guest-physical address pa.
func putsPhys(pa, n uintptr) {
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
