//go:build linux && arm64

// The EL1 part of the bindings (boot, the exception vectors) and the few
// EL0 assembly routines of the kernel (kentry, resumeUser, the requests to
// EL1). Addresses repeat layout_arm64.go (TestLayoutARM64 checks, in arm64layout_test.go).

#include "textflag.h"

#define FRAME 0x8fec0		// frameAddr: kstackTop - 320
#define FAKE_G 0x90000
#define KSTACK_LO 0x50000
#define KSTACK_TOP 0x90000
#define FPAREA 0x93000
#define VDSO_DATA 0x91000
#define EL1_STACK_TOP 0x95000
#define PRIVATE_TABLES 0x20000
#define GUARD_PAGE 0x4f000
#define L3_MAX_PAGES 16
#define TICK_COUNT 0x94000		// tickCountAddr: the timer's reload value
#define GICD 0x108000000		// guestabi.GICDistBase
#define GICR 0x1080a0000		// guestabi.GICRedistBase
#define TIMER_INTID 27

#define MMIO_BASE 0x100000000
#define HC_PUTS 2
#define HC_HALT 8

// Stage-1 descriptors (4 KiB granule; MAIR_EL1 as the monitor sets it:
// index 4 normal write-back, index 1 device nGnRE). AP[2:1] (bits 7:6):
// 01 read-write at EL1 and EL0, 11 read-only at both. A page EL0 may
// write is never executable at EL1.
#define PAGE_TEXT 0x7d3			// page|AF|SH|normal|AP=11: text, executable at EL1 and EL0
#define PAGE_DATA 0x0040000000000753	// page|AF|SH|normal|AP=01|UXN
#define PAGE_BOOT 0x00600000000007d3	// page|AF|SH|normal|AP=11|PXN|UXN: boot info
#define BLOCK_DATA 0x0040000000000751	// 2 MiB block, as PAGE_DATA
#define BLOCK_DEVICE 0x0060000000000705	// 1 GiB block, device nGnRE, no execution
#define TABLE 3

#define DSB_ISHST WORD $0xd5033a9f
#define DSB_ISH WORD $0xd5033b9f
#define ISB WORD $0xd5033fdf
#define TLBI_VMALLE1 WORD $0xd508871f
#define ERET WORD $0xd69f03e0
#define PAN0 WORD $0xd500409f		// MSR PAN, #0
#define SVC0 WORD $0xd4000001
#define SVC_RESUME WORD $0xd4000021	// SVC #1
#define SVC_HYPERCALL WORD $0xd4000041	// SVC #2
#define SVC_FLUSH WORD $0xd4000061	// SVC #3
#define SVC_TIMER WORD $0xd4000081	// SVC #4
#define SVC_IDREG WORD $0xd40000a1	// SVC #5

// rt0: entered at EL1h with the monitor's identity page tables (MMU on),
// interrupts masked, SP_EL1 at the top of RAM and X0 at the boot info.
TEXT ·rt0(SB),NOSPLIT|NOFRAME,$0
	MOVD	$·buildInfo(SB), R6	// keeps buildInfo, which unimon build fills in
	MOVD	0(R0), R19		// boot info: mem_size
	MOVD	$·vectors(SB), R0
	MSR	R0, VBAR_EL1
	// EL1 reads and writes memory EL0 can access (the frame, its own
	// stack): PAN off, now and on exception entry (SCTLR_EL1.SPAN).
	MRS	SCTLR_EL1, R0
	ORR	$(1<<23), R0, R0
	MSR	R0, SCTLR_EL1
	PAN0
	// The counter readable at EL0 (CNTKCTL_EL1.EL0VCTEN); 48-bit
	// addresses for the program's mappings (TCR_EL1.T0SZ = 16).
	MRS	CNTKCTL_EL1, R0
	ORR	$2, R0, R0
	MSR	R0, CNTKCTL_EL1
	MRS	TCR_EL1, R0
	AND	$~0x3f, R0, R0
	ORR	$16, R0, R0
	MSR	R0, TCR_EL1
	ISB

	MOVD	$runtime·etext(SB), R25
	ADD	$0xfff, R25, R25
	AND	$~0xfff, R25, R25		// end of text, page aligned
	ADD	$0x1fffff, R25, R26
	AND	$~0x1fffff, R26, R26		// ... 2 MiB aligned: the part mapped in pages
	LSR	$21, R26, R0
	CMP	$L3_MAX_PAGES, R0
	BHI	toobig
	// The monitor maps the private area read-only for EL1: build the
	// tables first 1 MiB below the top of RAM (free RAM the kernel
	// reuses later), switch, then build them again in the private area.
	SUB	$0x100000, R19, R21
	BL	tables<>(SB)
	MOVD	$PRIVATE_TABLES, R21
	BL	tables<>(SB)

	// The fake g of the kernel: only the stack bounds matter to
	// compiled code; stackguard0 0 never calls morestack.
	MOVD	$FAKE_G, R0
	MOVD	$KSTACK_LO, R1
	MOVD	$KSTACK_TOP, R2
	STP	(R1, R2), 0(R0)
	STP	(ZR, ZR), 16(R0)
	MOVD	$EL1_STACK_TOP, R0
	MOVD	R0, RSP
	B	enterkernel<>(SB)

toobig:
	MOVD	$·textTooBig(SB), R0
	B	fatalmsg<>(SB)

// tables builds the identity map at R21 (L0; L1 at +0x1000; L2, four
// pages, at +0x2000; L3 at +0x10000) for RAM of R19 bytes and text
// ending at R25 (pages up to R26), and switches TTBR0_EL1 to it.
TEXT tables<>(SB),NOSPLIT|NOFRAME,$0
	ADD	$0x1000, R21, R22
	ADD	$0x2000, R21, R23
	ADD	$0x10000, R21, R24
	MOVD	$0, R0
l3:
	MOVD	$0, R1
	CMP	$0x10000, R0
	BLO	l3put			// the zero page and the monitor's tables: unmapped
	MOVD	$PAGE_BOOT, R1
	CMP	$0x20000, R0
	BLO	l3put
	MOVD	$PAGE_DATA, R1
	CMP	$0x100000, R0
	BHS	l3image
	MOVD	$GUARD_PAGE, R2
	CMP	R2, R0
	BNE	l3put
	MOVD	$0, R1
	B	l3put
l3image:
	CMP	R25, R0
	BHS	l3put
	MOVD	$PAGE_TEXT, R1
l3put:
	CBZ	R1, l3store
	ORR	R0, R1, R1
l3store:
	LSR	$9, R0, R2
	MOVD	R1, (R24)(R2)
	ADD	$0x1000, R0, R0
	CMP	R26, R0
	BLO	l3

	MOVD	$0, R0
l2:
	LSR	$18, R0, R2		// (pa >> 21) * 8
	CMP	R26, R0
	BHS	l2block
	LSR	$9, R0, R1		// (pa >> 21) * 0x1000
	ADD	R24, R1, R1
	ORR	$TABLE, R1, R1
	B	l2store
l2block:
	MOVD	$BLOCK_DATA, R1
	ORR	R0, R1, R1
l2store:
	MOVD	R1, (R23)(R2)
	ADD	$0x200000, R0, R0
	CMP	R19, R0
	BLO	l2

	MOVD	$0, R0
l1:
	LSR	$30, R0, R2
	LSL	$12, R2, R1
	ADD	R23, R1, R1
	ORR	$TABLE, R1, R1
	LSL	$3, R2, R2
	MOVD	R1, (R22)(R2)
	ADD	$0x40000000, R0, R0
	CMP	R19, R0
	BLO	l1
	MOVD	$(MMIO_BASE|BLOCK_DEVICE), R1
	MOVD	R1, 32(R22)
	ORR	$TABLE, R22, R1
	MOVD	R1, 0(R21)

	DSB_ISHST
	MSR	R21, TTBR0_EL1
	ISB
	TLBI_VMALLE1
	DSB_ISH
	ISB
	RET

// enterkernel enters kentry at EL0 on the kernel stack (just below the
// frame) with the fake g, interrupts masked.
TEXT enterkernel<>(SB),NOSPLIT|NOFRAME,$0
	MOVD	$FRAME, R2
	MSR	R2, SP_EL0
	MOVD	$·kentry(SB), R2
	MSR	R2, ELR_EL1
	MOVD	$0x3c0, R2
	MSR	R2, SPSR_EL1
	MOVD	$FAKE_G, g
	ERET

// vectors is VBAR_EL1's table: 16 slots of 0x80 bytes (current EL with
// SP_EL0, with SP_ELx, lower EL AArch64, lower EL AArch32; each sync,
// IRQ, FIQ, SError). Each slot saves X0 and X1 on the EL1 stack and
// passes its number in X0 to el1trap.
#define SLOT(n) PCALIGN $128; STP.W (R0, R1), -16(RSP); MOVD $n, R0; B el1trap<>(SB)

TEXT ·vectors(SB),NOSPLIT|NOFRAME,$0
	PCALIGN	$2048
	STP.W	(R0, R1), -16(RSP)
	MOVD	$0, R0
	B	el1trap<>(SB)
	SLOT(1); SLOT(2); SLOT(3); SLOT(4); SLOT(5); SLOT(6); SLOT(7)
	SLOT(8); SLOT(9); SLOT(10); SLOT(11); SLOT(12); SLOT(13); SLOT(14); SLOT(15)

// el1trap: a synchronous exception or IRQ from EL0 is either a request
// of the kernel (SVC #1-#3) or a trap of the program, whose registers go
// to the frame before kentry runs at EL0. Anything else is fatal.
TEXT el1trap<>(SB),NOSPLIT|NOFRAME,$0
	CMP	$8, R0
	BLO	el1fault
	CMP	$9, R0
	BHI	el1fault
	BEQ	irq
	MRS	ESR_EL1, R1
	LSR	$26, R1, R0
	CMP	$0x15, R0
	BNE	save8
	ANDS	$0xffff, R1, R1
	BEQ	save8			// SVC #0: the program's system call
	LDP.P	16(RSP), (R0, R1)	// the request's arguments
	MRS	ESR_EL1, R2
	AND	$0xffff, R2, R2
	CMP	$1, R2
	BEQ	kresume
	CMP	$2, R2
	BEQ	khypercall
	CMP	$3, R2
	BEQ	kflush
	CMP	$4, R2
	BEQ	ktimer
	CMP	$5, R2
	BEQ	kidreg
	MOVD	$·badRequest(SB), R0
	B	fatalmsg<>(SB)
khypercall:
	MOVW	R1, (R0)
	ERET
kflush:
	DSB_ISHST
	TLBI_VMALLE1
	DSB_ISH
	ISB
	ERET
// kidreg returns the ID register X0 names (idreg_arm64.go: idMIDR...)
// in X0: EL0 cannot read ID registers.
kidreg:
	MOVD	R0, R1
	MOVD	$0, R0
	CBNZ	R1, 2(PC)
	MRS	MIDR_EL1, R0
	CMP	$1, R1
	BNE	2(PC)
	MRS	ID_AA64PFR0_EL1, R0
	CMP	$2, R1
	BNE	2(PC)
	MRS	ID_AA64ISAR0_EL1, R0
	CMP	$3, R1
	BNE	2(PC)
	MRS	ID_AA64ISAR1_EL1, R0
	ERET
// ktimer: the GICv3 the monitor created delivers the virtual timer's
// PPI as a group 1 interrupt to this CPU, and the timer starts with the
// reload value at TICK_COUNT.
ktimer:
	MOVD	$GICD, R0
	MOVW	$0x13, R1		// GICD_CTLR: ARE, EnableGrp1, EnableGrp0
	MOVW	R1, 0(R0)
	MOVD	$GICR, R0
	MOVW	0x14(R0), R1		// GICR_WAKER: clear ProcessorSleep
	AND	$~2, R1, R1
	MOVW	R1, 0x14(R0)
waker:
	MOVW	0x14(R0), R1
	TBNZ	$2, R1, waker		// ChildrenAsleep
	ADD	$0x10000, R0, R0	// SGI_base
	MOVW	$-1, R1
	MOVW	R1, 0x80(R0)		// GICR_IGROUPR0: all group 1
	MOVD	$0xa0, R1
	MOVB	R1, (0x400+TIMER_INTID)(R0)	// GICR_IPRIORITYR
	MOVW	$(1<<TIMER_INTID), R1
	MOVW	R1, 0x100(R0)		// GICR_ISENABLER0
	MRS	ICC_SRE_EL1, R1
	ORR	$1, R1, R1
	MSR	R1, ICC_SRE_EL1
	ISB
	MOVD	$0xff, R1
	MSR	R1, ICC_PMR_EL1
	MOVD	$1, R1
	MSR	R1, ICC_IGRPEN1_EL1
	MOVD	$TICK_COUNT, R1
	MOVD	(R1), R1
	MSR	R1, CNTV_TVAL_EL0
	MOVD	$1, R1
	MSR	R1, CNTV_CTL_EL0	// enabled, not masked
	ISB
	ERET
// irq: mask the timer (which lowers its level-triggered line, so the
// end of interrupt does not make it pending again), acknowledge, and
// enter the kernel like any trap (slot 9). The line may drop before the
// acknowledge reads it: a spurious INTID 1023 is still a tick.
irq:
	MOVD	$3, R1
	MSR	R1, CNTV_CTL_EL0	// enabled, masked
	ISB
	MRS	ICC_IAR1_EL1, R1
	MSR	R1, ICC_EOIR1_EL1
	B	save
// kresume rearms a masked timer for a whole tick from now: the program
// runs at least a tick between two, however long the kernel took (under
// emulation a busy kernel could otherwise find the next tick already
// pending at every return, and the program would never run again). A
// timer that is off (CNTV_CTL_EL0 zero) stays off.
kresume:
	MRS	CNTV_CTL_EL0, R1
	TBZ	$1, R1, timerarmed
	MOVD	$TICK_COUNT, R1
	MOVD	(R1), R1
	MSR	R1, CNTV_TVAL_EL0
	MOVD	$1, R1
	MSR	R1, CNTV_CTL_EL0
timerarmed:
	MOVD	$FRAME, R0
	LDP	248(R0), (R1, R2)	// SP, PC
	MSR	R1, SP_EL0
	MSR	R2, ELR_EL1
	LDP	264(R0), (R1, R2)	// PSTATE, TPIDR_EL0
	AND	$0xf0000000, R1, R1	// the program's flags; EL0t, only IRQs unmasked
	ORR	$0x340, R1, R1
	MSR	R1, SPSR_EL1
	MSR	R2, TPIDR_EL0
	LDP	16(R0), (R2, R3)
	LDP	32(R0), (R4, R5)
	LDP	48(R0), (R6, R7)
	LDP	64(R0), (R8, R9)
	LDP	80(R0), (R10, R11)
	LDP	96(R0), (R12, R13)
	LDP	112(R0), (R14, R15)
	LDP	128(R0), (R16, R17)
	LDP	144(R0), (R18_PLATFORM, R19)
	LDP	160(R0), (R20, R21)
	LDP	176(R0), (R22, R23)
	LDP	192(R0), (R24, R25)
	LDP	208(R0), (R26, R27)
	LDP	224(R0), (g, R29)
	MOVD	240(R0), R30
	MOVD	8(R0), R1
	MOVD	0(R0), R0
	ERET
save8:
	MOVD	$8, R0
save:
	MOVD	$FRAME, R1
	STP	(R2, R3), 16(R1)
	STP	(R4, R5), 32(R1)
	STP	(R6, R7), 48(R1)
	STP	(R8, R9), 64(R1)
	STP	(R10, R11), 80(R1)
	STP	(R12, R13), 96(R1)
	STP	(R14, R15), 112(R1)
	STP	(R16, R17), 128(R1)
	STP	(R18_PLATFORM, R19), 144(R1)
	STP	(R20, R21), 160(R1)
	STP	(R22, R23), 176(R1)
	STP	(R24, R25), 192(R1)
	STP	(R26, R27), 208(R1)
	STP	(g, R29), 224(R1)
	MOVD	R30, 240(R1)
	MOVD	R0, 296(R1)		// slot
	LDP.P	16(RSP), (R2, R3)	// the program's X0, X1
	STP	(R2, R3), 0(R1)
	MRS	SP_EL0, R2
	MRS	ELR_EL1, R3
	STP	(R2, R3), 248(R1)
	MRS	SPSR_EL1, R2
	MRS	TPIDR_EL0, R3
	STP	(R2, R3), 264(R1)
	MRS	ESR_EL1, R2
	MRS	FAR_EL1, R3
	STP	(R2, R3), 280(R1)
	// A trap of the kernel itself (on its stack or its guard page) is
	// fatal: its state is not to be trusted.
	MRS	SP_EL0, R2
	MOVD	$(KSTACK_LO-0x1000), R3
	CMP	R3, R2
	BLO	enter
	MOVD	$KSTACK_TOP, R3
	CMP	R3, R2
	BHI	enter
	MOVD	$·kernelTrap(SB), R0
	B	fatalmsg<>(SB)
enter:
	B	enterkernel<>(SB)
el1fault:
	MOVD	$·el1Trap(SB), R0
	B	fatalmsg<>(SB)

// fatalmsg prints the Go string whose header is at R0, then ESR_EL1,
// ELR_EL1, FAR_EL1 and SP_EL0, and halts with 255. The arguments go on
// the EL1 stack.
TEXT fatalmsg<>(SB),NOSPLIT|NOFRAME,$0
	MOVD	$EL1_STACK_TOP, R1
	SUB	$64, R1, R20
	MOVD	R20, RSP
	BL	puts<>(SB)
	MRS	ESR_EL1, R0
	BL	puthex<>(SB)
	MRS	ELR_EL1, R0
	BL	puthex<>(SB)
	MRS	FAR_EL1, R0
	BL	puthex<>(SB)
	MRS	SP_EL0, R0
	BL	puthex<>(SB)
	MOVD	ZR, 0(R20)
	MOVD	$255, R1
	MOVD	R1, 8(R20)
	MOVD	$(MMIO_BASE+HC_HALT<<3), R4
halt:
	MOVW	R20, (R4)
	B	halt

// puts prints the Go string whose header is at R0 (PUTS; struct
// hvt_hc_puts { uint64 data; uint64 len; } at R20).
TEXT puts<>(SB),NOSPLIT|NOFRAME,$0
	MOVD	0(R0), R1
	MOVD	8(R0), R2
	STP	(R1, R2), 0(R20)
	MOVD	$(MMIO_BASE+HC_PUTS<<3), R4
	MOVW	R20, (R4)
	RET

// puthex prints R0 as 16 hex digits and a space, from R20+32.
TEXT puthex<>(SB),NOSPLIT|NOFRAME,$0
	ADD	$32, R20, R1
	MOVD	$60, R2
hexloop:
	LSR	R2, R0, R3
	AND	$15, R3, R3
	ADD	$'0', R3, R3
	CMP	$'9', R3
	BLS	hexput
	ADD	$('a'-'9'-1), R3, R3
hexput:
	MOVB	R3, (R1)
	ADD	$1, R1, R1
	SUBS	$4, R2, R2
	BGE	hexloop
	MOVD	$' ', R3
	MOVB	R3, (R1)
	ADD	$32, R20, R1
	MOVD	$17, R2
	STP	(R1, R2), 0(R20)
	MOVD	$(MMIO_BASE+HC_PUTS<<3), R4
	MOVW	R20, (R4)
	RET

// kentry runs at EL0 for every trap: it saves the program's FP/SIMD
// registers and calls the kernel, which never returns here.
TEXT ·kentry(SB),NOSPLIT|NOFRAME,$0
	MOVD	$FPAREA, R0
	VST1.P	[V0.B16, V1.B16, V2.B16, V3.B16], 64(R0)
	VST1.P	[V4.B16, V5.B16, V6.B16, V7.B16], 64(R0)
	VST1.P	[V8.B16, V9.B16, V10.B16, V11.B16], 64(R0)
	VST1.P	[V12.B16, V13.B16, V14.B16, V15.B16], 64(R0)
	VST1.P	[V16.B16, V17.B16, V18.B16, V19.B16], 64(R0)
	VST1.P	[V20.B16, V21.B16, V22.B16, V23.B16], 64(R0)
	VST1.P	[V24.B16, V25.B16, V26.B16, V27.B16], 64(R0)
	VST1.P	[V28.B16, V29.B16, V30.B16, V31.B16], 64(R0)
	MRS	FPSR, R1
	MRS	FPCR, R2
	STP	(R1, R2), 0(R0)
	BL	·ktrap(SB)
	UNDEF

// resumeUser restores the FP/SIMD registers and asks EL1 to return to
// the program with the frame's registers.
TEXT ·resumeUser(SB),NOSPLIT|NOFRAME,$0
	MOVD	$FPAREA, R0
	VLD1.P	64(R0), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P	64(R0), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P	64(R0), [V8.B16, V9.B16, V10.B16, V11.B16]
	VLD1.P	64(R0), [V12.B16, V13.B16, V14.B16, V15.B16]
	VLD1.P	64(R0), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1.P	64(R0), [V20.B16, V21.B16, V22.B16, V23.B16]
	VLD1.P	64(R0), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1.P	64(R0), [V28.B16, V29.B16, V30.B16, V31.B16]
	LDP	0(R0), (R1, R2)
	MSR	R1, FPSR
	MSR	R2, FPCR
	SVC_RESUME
	UNDEF

TEXT ·ktimerStart(SB),NOSPLIT|NOFRAME,$0
	SVC_TIMER
	RET

TEXT ·idReg(SB),NOSPLIT,$0-16
	MOVD	which+0(FP), R0
	SVC_IDREG
	MOVD	R0, ret+8(FP)
	RET

// rndr reads RNDR (FEAT_RNG, readable at EL0); it sets Z when the
// hardware had no entropy to give.
TEXT ·rndr(SB),NOSPLIT,$0-9
	MRS	RNDR, R0
	CSET	NE, R1
	MOVD	R0, ret+0(FP)
	MOVB	R1, ret1+8(FP)
	RET

TEXT ·kflush(SB),NOSPLIT|NOFRAME,$0
	SVC_FLUSH
	RET

TEXT ·khypercall(SB),NOSPLIT,$0-16
	MOVD	addr+0(FP), R0
	MOVD	arg+8(FP), R1
	SVC_HYPERCALL
	RET

TEXT ·cntvct(SB),NOSPLIT,$0-8
	ISB
	MRS	CNTVCT_EL0, R0
	MOVD	R0, ret+0(FP)
	RET

// func vdsoEntry() uintptr returns the address of vdsoClockGettime.
TEXT ·vdsoEntry(SB),NOSPLIT,$0-8
	MOVD	$·vdsoClockGettime(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// vdsoClockGettime is the vDSO's __kernel_clock_gettime, called by the
// runtime with the C calling convention: R0 the clock, R1 the timespec;
// 0 in R0. It reads time.go's parameters at VDSO_DATA and the counter
// EL0 may read, and clobbers only R2-R7 (R18 and R28, the runtime's g,
// stay untouched as the C convention wants).
TEXT ·vdsoClockGettime(SB),NOSPLIT|NOFRAME,$0
	MOVD	$VDSO_DATA, R7
	ISB
	MRS	CNTVCT_EL0, R2
	MOVD	0(R7), R3	// tsc0
	SUB	R3, R2, R2
	MOVD	8(R7), R3	// scale: (delta * scale) >> 32, from 128 bits
	UMULH	R3, R2, R4
	MUL	R3, R2, R5
	LSL	$32, R4, R4
	ORR	R5>>32, R4, R2
	CMP	$0, R0		// CLOCK_REALTIME
	BEQ	realtime
	CMP	$8, R0		// CLOCK_REALTIME_ALARM
	BEQ	realtime
	CMP	$5, R0		// CLOCK_REALTIME_COARSE
	BNE	split
realtime:
	MOVD	16(R7), R3	// wall clock at tsc0
	ADD	R3, R2, R2
split:
	MOVD	$1000000000, R3
	UDIV	R3, R2, R4
	MUL	R3, R4, R5
	SUB	R5, R2, R5
	MOVD	R4, 0(R1)
	MOVD	R5, 8(R1)
	MOVD	$0, R0
	RET

TEXT ·goEntry(SB),NOSPLIT,$0-8
	MOVD	$_rt0_arm64_linux(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// sigreturnTramp is where a signal handler returns (X30): rt_sigreturn.
TEXT ·sigreturnTramp(SB),NOSPLIT|NOFRAME,$0
	MOVD	$139, R8
	SVC0
	UNDEF

TEXT ·sigreturnTrampAddr(SB),NOSPLIT,$0-8
	MOVD	$·sigreturnTramp(SB), R0
	MOVD	R0, ret+0(FP)
	RET
