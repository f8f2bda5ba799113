//go:build linux && amd64

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// The fixed guest-physical (= guest-virtual) layout of the bindings'
// private memory below the ELF image, stated once: layout_amd64.h, which
// the assembly includes, is generated from these constants (go generate;
// TestLayoutHeader fails when it is stale), and resumeTail's addresses are
// computed from them. 0x20000-0xFFFFF is RAM the hvt ABI leaves unused
// (boot info, manifest and command line end below 0x16000).
//
//go:generate go test -run TestLayoutHeader -update .
const (
	gdtBase    = 0x20000
	gdtrAddr   = gdtBase + 0x80
	idtrAddr   = gdtBase + 0x90
	tssBase    = gdtBase + 0x100
	idtBase    = 0x21000
	pml4Base   = 0x22000
	pdptBase   = 0x23000
	pdBase     = 0x24000
	pt0Base    = 0x28000
	hwFrame    = userTop - 8*8 // cr2, vector, err and the CPU's five words
	userTop    = 0x40000       // TSS.RSP0: the CPL0 trap stack
	guardPage  = 0x50000       // unmapped: a kernel stack overflow faults
	istTop     = guardPage     // TSS.IST1: the interrupt stack
	kstackLo   = guardPage + pageSize
	kstackTop  = 0x90000
	frameAddr  = kstackTop - unsafe.Sizeof(frame{})
	fakeG      = kstackTop
	ktls       = fakeG + 0x100
	ktlsFS     = ktls + 8
	vdsoData   = 0x91000
	msgBuf     = vdsoData + 0x800 // kfault's message
	hcArgs     = vdsoData + 0xF00 // kfault's hypercall arguments
	vdsoImage  = 0x92000
	vdsoMax    = 0x1000
	fxAreaAddr = 0x93000
	trampBase  = 0x94000 // the trampoline page, at fixed addresses CPL0 compares against
	kentryPtr  = trampBase + 8
	trampUD2   = trampBase + 0x10
	trampTail  = trampBase + 0x20
	trampJmp   = trampTail + uintptr(len(resumeTail)) - 7 // the tail's final JMP
	entryGSlot = trampBase + 0x800
	wantFS     = trampBase + 0x808
	curFS      = trampBase + 0x810
	scratchTLS = 0x95f08 // thread 0's FS base until the runtime sets its own

	kernelCS   = 0x08
	kernelDS   = 0x10
	userDS     = 0x1b
	userCS     = 0x23
	tssSel     = 0x28
	rflagsUser = 0x202 // IF set: the timer, when there is one, preempts the program
	pageSize   = 4096

	msrFSBase    = 0xC0000100
	msrX2APICEOI = 0x80B

	// Where resumeTail reads the program's RIP and RSP.
	frameRIP = frameAddr + unsafe.Offsetof(frame{}.RIP)
	frameRSP = frameAddr + unsafe.Offsetof(frame{}.RSP)
)

// The vDSO's identity for the Go runtime (runtime/vdso_linux_amd64.go).
const (
	vdsoMachine     = 62 // EM_X86_64
	vdsoSymbol      = "__vdso_clock_gettime"
	vdsoVersion     = "LINUX_2.6"
	vdsoVersionHash = 0x3ae75f6
)

// Requests to the CPL0 part (kcall op).
const (
	kHypercall = 2
	kFlush     = 3
	kWrmsr     = 5
	kRdmsr     = 6
)

// frame is the register frame kentry builds at frameAddr. FSBase is
// unused (the kernel tracks FS bases per thread). Its layout is
// guestabi.DebugFrame, which the monitor's debugger reads (debugTrap).
type frame = guestabi.DebugFrame

// resumeTail is the end of every return to the program, copied to
// trampTail: pop R15..RAX from the frame, skip vector, error code, RIP and
// CS, pop RFLAGS, load RSP and jump to RIP, both by absolute address.
var resumeTail = [...]byte{
	0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x41, 0x5b, 0x41, 0x5a, 0x41, 0x59, 0x41, 0x58,
	0x5d, 0x5f, 0x5e, 0x5a, 0x59, 0x5b, 0x58,
	0x48, 0x83, 0xc4, byte(unsafe.Offsetof(frame{}.RFLAGS) - unsafe.Offsetof(frame{}.Vector)), // ADDQ $32, SP
	0x9d,                                                                                                                         // POPFQ
	0x48, 0x8b, 0x24, 0x25, byte(frameRSP & 0xff), byte(frameRSP >> 8 & 0xff), byte(frameRSP >> 16 & 0xff), byte(frameRSP >> 24), // MOVQ (frameRSP), SP
	0xff, 0x24, 0x25, byte(frameRIP & 0xff), byte(frameRIP >> 8 & 0xff), byte(frameRIP >> 16 & 0xff), byte(frameRIP >> 24), // JMP *(frameRIP); at trampJmp
}
