//go:build linux && amd64

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

func kcall(op, a1, a2 uintptr) uintptr

// stubAddrs must not make its argument escape: the kernel never allocates.
//
//go:noescape
func stubAddrs(dst *[34]uintptr)
func goEntry() uintptr
func vdsoEntry() uintptr
func vdsoClockGettime()
func rdtsc() uint64
func rdrand() (uint64, bool)
func rdseed() (uint64, bool)
func cpuid(leaf, sub uint32) (a, b, c, d uint32)
func rt0()
func kentry()
func kentryAddr() uintptr
func resumeUser()

var (
	booted  bool
	memSize uintptr
	freq    uint64
)

func uf() *frame { return (*frame)(ptr(frameAddr)) }

// ktrap is the kernel: called by kentry for every trap, it never returns
// (it ends by resuming a program thread or halting).
func ktrap() {
	if !booted {
		kinit()
		booted = true
		resume()
	}
	f := uf()
	t := &threads[cur]
	stats.traps++
	switch f.Vector {
	case 6:
		if isSyscallSite(uintptr(f.RIP)) {
			syscall(f, t)
			break
		}
		fatalTrap(f, "invalid opcode")
	case 14:
		if !pageFault(uintptr(f.CR2), f.Err) {
			fatalTrap(f, "page fault")
		}
	case 1, 3:
		if !debugTrap(f) {
			fatalTrap(f, "exception")
		}
	case 32:
		stats.ticks++
		if now()-t.since >= timeSlice {
			yield(f, t)
		}
	default:
		fatalTrap(f, "exception")
	}
	resume()
}

// resume returns to the current thread, whose registers are in the frame.
func resume() {
	t := &threads[cur]
	if t.pending != 0 {
		deliver(uf(), t)
	}
	*u64at(wantFS) = t.fsbase
	if needFlush {
		needFlush = false
		kcall(kFlush, 0, 0)
	}
	resumeUser()
}

// resumeTail is the end of every return to the program, copied to
// trampTail: pop R15..RAX from the frame, skip vector, error code, RIP and
// CS, pop RFLAGS, load RSP and jump to RIP, both by absolute address.
var resumeTail = [...]byte{
	0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x41, 0x5b, 0x41, 0x5a, 0x41, 0x59, 0x41, 0x58,
	0x5d, 0x5f, 0x5e, 0x5a, 0x59, 0x5b, 0x58,
	0x48, 0x83, 0xc4, 0x20, // ADDQ $32, SP
	0x9d,                                           // POPFQ
	0x48, 0x8b, 0x24, 0x25, 0xf0, 0xff, 0x08, 0x00, // MOVQ (frameAddr+176), SP
	0xff, 0x24, 0x25, 0xd8, 0xff, 0x08, 0x00, // JMP *(frameAddr+152); at trampTail+0x24 (TRAMP_JMP)
}

// initTramp fills the trampoline page the CPL0 code knows by address.
func initTramp() {
	*u64at(kentryPtr) = uint64(kentryAddr())
	ud2 := (*[3]byte)(ptr(trampUD2))
	*ud2 = [3]byte{0x0f, 0x0b, 0xc3} // UD2; RET
	*(*[len(resumeTail)]byte)(ptr(trampTail)) = resumeTail
	*u64at(curFS) = ktlsFS
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
	initTramp()
	initIDT()
	initLowPages()
	initTime()
	initFrames()
	initVDSO()
	parseOptions()
	initTimer()
	initProcess()
}

// initIDT points vectors 0-32 and 255 at their stubs (interrupt gates,
// kernel code segment, DPL 0: exceptions ignore the DPL; the two
// interrupt vectors use IST1, see vec32).
func initIDT() {
	var addrs [34]uintptr
	stubAddrs(&addrs)
	idt := (*[256][2]uint64)(ptr(idtBase))
	for i, a := range addrs {
		v := i
		if i == 33 {
			v = 255
		}
		idt[v][0] = uint64(a&0xffff) | kernelCS<<16 | 0x8e<<40 | uint64(a>>16&0xffff)<<48
		if v == 32 || v == 255 {
			idt[v][0] |= 1 << 32 // IST1: interrupts have their own stack
		}
		idt[v][1] = uint64(a >> 32)
	}
}

// initLowPages maps the first 2 MiB with 4 KiB pages so that page 0 (nil
// dereferences) and the page below the kernel stack fault.
func initLowPages() {
	pt := (*[512]uint64)(ptr(pt0Base))
	for i := range pt {
		a := uint64(i) << 12
		if i == 0 || a == guardPage {
			pt[i] = 0
			continue
		}
		pt[i] = a | 7
	}
	*u64at(pdBase) = pt0Base | 7
	kcall(kFlush, 0, 0)
}

// hcArg holds the argument struct of the hypercall in progress: kernel
// data is identity mapped below 4 GiB, as the ABI's 32-bit argument
// pointers require. Callers encode into it with guestabi's layouts and
// decode the monitor's answer from it.
var hcArg [guestabi.BlockIOSize]byte // the largest argument struct

// hypercall issues hypercall nr with its argument struct in hcArg.
func hypercall(nr guestabi.Hypercall) {
	stats.hypercalls++
	kcall(kHypercall, guestabi.PIOBase+uintptr(nr), uintptr(unsafe.Pointer(&hcArg)))
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
