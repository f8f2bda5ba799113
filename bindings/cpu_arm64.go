//go:build linux && arm64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// The arm64 side of the kernel's architecture interface. Only assembly
// runs at EL1 (cpu_arm64.s): rt0 builds the page tables and enters the
// kernel at EL0; a trap of the program (an SVC, an abort) reaches the EL1
// vector, which saves the registers at frameAddr and ERETs into kentry at
// EL0 on the kernel stack with the fake g in R28; kentry saves the FP/SIMD
// registers and calls ktrap. The kernel returns to the program, asks for
// a hypercall, flushes the TLB, starts the timer or reads an ID register
// (idreg_arm64.go) with SVC #1-#5 (the program's own system calls are
// SVC #0), which EL1 serves.

// fpState is V0-V31, FPSR and FPCR, as kentry saves them at fpAreaAddr.
type fpState [528]byte

func fpArea() *fpState { return (*fpState)(ptr(fpAreaAddr)) }

func curFrame() *frame { return (*frame)(ptr(frameAddr)) }

// cpuSyscallEnter decodes the system call in f (Linux arm64: number in
// X8, arguments in X0-X5; the PC is already past the SVC).
func cpuSyscallEnter(f *frame) (uintptr, sysArgs) {
	f.OrigX0 = f.X[0]
	return uintptr(f.X[8]), sysArgs{uintptr(f.X[0]), uintptr(f.X[1]), uintptr(f.X[2]), uintptr(f.X[3]), uintptr(f.X[4]), uintptr(f.X[5])}
}

func cpuSetReturn(f *frame, r int64) { f.X[0] = uint64(r) }

func cpuReturnValue(f *frame) int64 { return int64(f.X[0]) }

// cpuRestartSyscall makes f run system call nr again: back to the SVC,
// with the first argument the result overwrote.
func cpuRestartSyscall(f *frame, nr uintptr) {
	f.PC -= 4
	f.X[8] = uint64(nr)
	f.X[0] = f.OrigX0
}

func cpuCloneFrame(c, f *frame, stack uintptr) {
	*c = *f
	c.X[0] = 0
	if stack != 0 {
		c.SP = uint64(stack)
	}
}

// pstateUser is EL0t with IRQs unmasked (the timer's, when there is
// one), debug, SError and FIQ masked. The kernel itself runs with all
// masked.
const pstateUser = 0x340

func cpuInitFrame(f *frame, entry, sp uintptr) {
	*f = frame{PC: uint64(entry), SP: uint64(sp), PSTATE: pstateUser}
}

func cpuCycles() uint64 { return cntvct() }

var randChecked, hasRNDR bool

// cpuRandom returns 64 random bits from RNDR (FEAT_RNG, which EL1 looks
// up in ID_AA64ISAR0_EL1 for the kernel), retrying a few times, or false
// on a CPU without it.
func cpuRandom() (uint64, bool) {
	if !randChecked {
		hasRNDR, randChecked = idReg(idISAR0)>>60&0xf != 0, true
	}
	for i := 0; i < 10 && hasRNDR; i++ {
		if v, ok := rndr(); ok {
			return v, true
		}
	}
	return 0, false
}

// putStat writes s as arm64's (asm-generic) struct stat, 128 bytes.
func putStat(va uintptr, s *statInfo) bool {
	var b [16]uint64
	b[2] = s.mode | s.nlink<<32
	b[4] = s.rdev
	b[6] = s.size
	b[7] = s.blksize
	b[8] = s.blocks
	return copyOut(va, unsafe.Pointer(&b), unsafe.Sizeof(b))
}

// epollEventSize: struct epoll_event is not packed on arm64 (u32 events,
// 4 bytes of padding, u64 data).
const epollEventSize = 16

func getEpollEvent(va uintptr) (events uint32, data uint64, ok bool) {
	var e [2]uint64
	if !copyIn(unsafe.Pointer(&e), va, epollEventSize) {
		return 0, 0, false
	}
	return uint32(e[0]), e[1], true
}

func putEpollEvent(va uintptr, events uint32, data uint64) bool {
	e := [2]uint64{uint64(events), data}
	return copyOut(va, unsafe.Pointer(&e), epollEventSize)
}

func cpuInit() {}

func cpuResume(t *thread) {
	curFrame().TPIDR = t.tls
	resumeUser()
}

func cpuFlushTLB() { kflush() }

// cpuHypercall stores the argument's address to the hypercall's MMIO
// address, from EL1.
func cpuHypercall(nr guestabi.Hypercall, arg uintptr) {
	khypercall(guestabi.MMIOBase+uintptr(nr)*guestabi.MMIOStride, arg)
}

// The assembly (cpu_arm64.s).

func rt0()
func kentry()
func resumeUser()
func kflush()
func vdsoEntry() uintptr
func vdsoClockGettime()
func ktimerStart()
func idReg(which uint64) uint64
func rndr() (uint64, bool)
func khypercall(addr, arg uintptr)
func cntvct() uint64
func goEntry() uintptr
func sigreturnTramp()
func sigreturnTrampAddr() uintptr

// Messages of the EL1 code (string variables, laid out by the linker:
// EL1 code runs before and beside the Go runtime).
var (
	textTooBig = "unimon bindings: arm64: the program's text is over 32 MiB, more than the boot page tables map in 4 KiB pages\n"
	badRequest = "unimon bindings: arm64: unknown kernel request (ESR_EL1, ELR_EL1, FAR_EL1, SP_EL0): "
	kernelTrap = "\nunimon: kernel trap (ESR_EL1, ELR_EL1, FAR_EL1, SP_EL0): "
	el1Trap    = "\nunimon: exception at EL1 (ESR_EL1, ELR_EL1, FAR_EL1, SP_EL0): "
)
