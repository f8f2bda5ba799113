//go:build linux && amd64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// The amd64 side of the kernel's architecture interface: boot, the
// register frame, the system call convention, resuming the program,
// hypercalls, the cycle counter and random numbers. The neutral kernel
// uses only these functions and treats the frame as an opaque value.
//
// Memory: guest RAM is identity mapped at its physical addresses with
// user pages (2 MiB, except the first 2 MiB, whose page 0 and the kernel
// stack guard page are left out). The fixed private area 0x20000-0xFFFFF
// holds the GDT, TSS, IDT, the initial page tables, the CPL0 trap stack
// and the interrupt (IST1) stack, the kernel stack and its frame, the
// fake g, the trampoline page and the vDSO (layout_amd64.go). Free frames
// are [image end, RAM end). The program's own address space (everything
// the Go runtime mmaps, and its initial stack) lives above 4 GiB and is
// paged on demand.
//
// Privilege: only assembly runs at CPL0 (cpu_amd64.s). Trap path: the
// program (CPL3) traps -> a stub (CPL0, a dozen instructions, no register
// touched) adds the vector and CR2 to the CPU's frame on the USER_TOP
// stack and irets into kentry (CPL3) -> kentry saves the registers into
// the frame at frameAddr, points the trapping thread's TLS g slot at the
// fake g and calls ktrap -> the kernel emulates, possibly switches
// threads by copying frames -> resumeUser restores the g slot, changes
// the FS base through CPL0 only if the thread changed, and returns to the
// program with a plain jump (trampTail): a system call costs one
// exception and one iretq. Hypercalls, TLB flushes and MSR accesses are
// kcalls: a UD2 at trampUD2 that the CPL0 #UD stub serves. The kernel
// runs with interrupts on (the program inherits the flag); the timer has
// its own stack, and ticks that land in the kernel are dropped.

// fpState is a thread's floating-point state while it does not run: the
// FXSAVE64 image kentry saves at fxAreaAddr.
type fpState [512]byte

// fpArea is where kentry saves the running thread's fpState.
func fpArea() *fpState { return (*fpState)(ptr(fxAreaAddr)) }

// curFrame is the registers of the running thread, saved by kentry.
func curFrame() *frame { return (*frame)(ptr(frameAddr)) }

// cpuSyscallEnter decodes the system call in f (Linux x86_64: number in
// RAX, arguments in RDI, RSI, RDX, R10, R8, R9) and sets f to return
// after the instruction with RCX and R11 clobbered, like SYSCALL.
func cpuSyscallEnter(f *frame) (nr uintptr, a sysArgs) {
	a = sysArgs{uintptr(f.RDI), uintptr(f.RSI), uintptr(f.RDX), uintptr(f.R10), uintptr(f.R8), uintptr(f.R9)}
	f.RIP += 2 // the UD2 that replaced the SYSCALL
	f.RCX = f.RIP
	f.R11 = f.RFLAGS
	return uintptr(f.RAX), a
}

// cpuSetReturn sets the system call's result in f.
func cpuSetReturn(f *frame, r int64) { f.RAX = uint64(r) }

// cpuReturnValue is the result register of f.
func cpuReturnValue(f *frame) int64 { return int64(f.RAX) }

// cpuRestartSyscall makes f run system call nr again when it resumes.
func cpuRestartSyscall(f *frame, nr uintptr) {
	f.RIP -= 2
	f.RAX = uint64(nr)
}

// cpuCloneFrame sets up a new thread's registers: the caller's, returning
// 0 from the system call on stack.
func cpuCloneFrame(c, f *frame, stack uintptr) {
	*c = *f
	c.RAX = 0
	c.RSP = uint64(stack)
}

// cpuInitFrame sets up the first thread's registers: entry with stack
// pointer sp, at user privilege.
func cpuInitFrame(f *frame, entry, sp uintptr) {
	*f = frame{RIP: uint64(entry), CS: userCS, RFLAGS: rflagsUser, RSP: uint64(sp), SS: userDS}
}

// cpuCycles is the cycle counter (TSC) the clock runs on.
func cpuCycles() uint64 { return rdtsc() }

// cpuHWCap is AT_HWCAP as Linux gives it on x86_64: CPUID leaf 1's EDX
// (the Go runtime reads CPUID itself; C-minded code reads this).
func cpuHWCap() uint64 {
	_, _, _, d := cpuid(1, 0)
	return uint64(d)
}

var randChecked, hasRDRAND, hasRDSEED bool

// cpuRandom returns 64 random bits from RDRAND or RDSEED (retrying as
// Intel advises), or false on a CPU without either.
func cpuRandom() (uint64, bool) {
	if !randChecked {
		_, _, c, _ := cpuid(1, 0)
		_, b, _, _ := cpuid(7, 0)
		hasRDRAND, hasRDSEED, randChecked = c&(1<<30) != 0, b&(1<<18) != 0, true
	}
	for i := 0; i < 10 && hasRDRAND; i++ {
		if v, ok := rdrand(); ok {
			return v, true
		}
	}
	for i := 0; i < 10 && hasRDSEED; i++ {
		if v, ok := rdseed(); ok {
			return v, true
		}
	}
	return 0, false
}

// putStat writes s as x86_64's struct stat (144 bytes).
func putStat(va uintptr, s *statInfo) bool {
	var b [18]uint64
	b[0] = s.dev
	b[1] = s.ino
	b[2] = s.nlink
	b[3] = s.mode
	b[5] = s.rdev
	b[6] = s.size
	b[7] = s.blksize
	b[8] = s.blocks
	for i := 9; i < 15; i += 2 { // atime, mtime, ctime
		b[i], b[i+1] = uint64(s.mtime/1e9), uint64(s.mtime%1e9)
	}
	return copyOut(va, unsafe.Pointer(&b), unsafe.Sizeof(b))
}

// epollEventSize is sizeof(struct epoll_event), packed on x86_64: u32
// events, u64 data.
const epollEventSize = 12

func getEpollEvent(va uintptr) (events uint32, data uint64, ok bool) {
	var e [epollEventSize]byte
	if !copyIn(unsafe.Pointer(&e), va, epollEventSize) {
		return 0, 0, false
	}
	return *(*uint32)(unsafe.Pointer(&e[0])), *(*uint64)(unsafe.Pointer(&e[4])), true
}

func putEpollEvent(va uintptr, events uint32, data uint64) bool {
	var e [epollEventSize]byte
	*(*uint32)(unsafe.Pointer(&e[0])) = events
	*(*uint64)(unsafe.Pointer(&e[4])) = data
	return copyOut(va, unsafe.Pointer(&e), epollEventSize)
}

// isSyscallSite reports whether pc is one of the SYSCALLs unimon build
// turned into UD2 (binary search of the sorted table it recorded).
func isSyscallSite(pc uintptr) bool {
	tab := uintptr(buildInfo[1])
	lo, hi := uintptr(0), uintptr(buildInfo[2])
	for lo < hi {
		m := (lo + hi) / 2
		v := uintptr(*u64at(tab + 8*m))
		switch {
		case v == pc:
			return true
		case v < pc:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// The assembly (cpu_amd64.s).

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

// cpuInit sets up what the CPL0 code finds by address: the trampoline
// page, the IDT and the first 2 MiB of the page tables.
func cpuInit() {
	initTramp()
	initIDT()
	initLowPages()
}

// initTramp fills the trampoline page the CPL0 code knows by address.
func initTramp() {
	*u64at(kentryPtr) = uint64(kentryAddr())
	ud2 := (*[3]byte)(ptr(trampUD2))
	*ud2 = [3]byte{0x0f, 0x0b, 0xc3} // UD2; RET
	*(*[len(resumeTail)]byte)(ptr(trampTail)) = resumeTail
	*u64at(curFS) = ktlsFS
}

// cpuResume returns to thread t, whose registers are in the frame: its
// FS base is its TLS.
func cpuResume(t *thread) {
	*u64at(wantFS) = t.tls
	resumeUser()
}

// cpuFlushTLB drops stale translations after page table entries were
// cleared.
func cpuFlushTLB() { kcall(kFlush, 0, 0) }

// cpuHypercall issues hypercall nr (an OUT to its port, from CPL0) with
// its argument struct at arg, below 4 GiB.
func cpuHypercall(nr guestabi.Hypercall, arg uintptr) {
	kcall(kHypercall, guestabi.PIOBase+uintptr(nr), arg)
}
