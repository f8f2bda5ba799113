//go:build linux && arm64

#include "textflag.h"

// The arm64 boot stage (see rt0_arm64.go). Everything here runs at EL1
// except el0probe.

// Solo5 hvt aarch64 hypercalls: a 32-bit store of the argument struct's
// guest-physical address to MMIO_BASE + nr<<3.
#define MMIO_BASE 0x100000000
#define HC_PUTS 2
#define HC_HALT 8

// Stage-1 descriptors (4 KiB granule; MAIR_EL1 as the monitor sets it:
// index 4 normal write-back, index 1 device nGnRE). AP[2:1] (bits 7:6):
// 01 read-write at EL1 and EL0, 10 read-only at EL1, 11 read-only at
// both. A page EL0 may write is never executable at EL1.
#define PAGE_TEXT 0x7d3			// page|AF|SH|normal|AP=11: the program's text, executable at EL1 and EL0
#define PAGE_DATA 0x0040000000000753	// page|AF|SH|normal|AP=01|UXN: read-write at both, no execution
#define PAGE_BOOT 0x0060000000000793	// page|AF|SH|normal|AP=10|PXN|UXN: boot info, read-only at EL1
#define BLOCK_DATA 0x0040000000000751	// 2 MiB block, as PAGE_DATA
#define BLOCK_DEVICE 0x0060000000000705	// 1 GiB block, device nGnRE, no execution
#define TABLE 3

// Where rt0 puts its page tables: 1 MiB below the top of RAM (the entry
// stack is the top); L0, L1, four L2 pages, then one L3 page per 2 MiB of
// [0, end of text).
#define TABLES_BELOW_TOP 0x100000

#define DSB_ISHST WORD $0xd5033a9f
#define DSB_ISH WORD $0xd5033b9f
#define ISB WORD $0xd5033fdf
#define TLBI_VMALLE1 WORD $0xd508871f
#define ERET WORD $0xd69f03e0
#define SVC0 WORD $0xd4000001
#define PAN0 WORD $0xd500409f	// MSR PAN, #0

// rt0: entered at EL1h with the monitor's identity page tables (MMU on),
// interrupts masked, SP_EL1 at the top of RAM and X0 at the boot info.
// The hypercall argument structs go on that stack, below 4 GiB as their
// 32-bit addresses require.
TEXT ·rt0(SB),NOSPLIT|NOFRAME,$0
	// Keeps buildInfo, which unimon build fills in, in the binary.
	MOVD	$·buildInfo(SB), R6
	SUB	$64, RSP, R20
	MOVD	R20, RSP
	MOVD	0(R0), R19		// boot info: mem_size
	MOVD	$·vectors(SB), R0
	MSR	R0, VBAR_EL1
	// EL1 code reads and writes memory EL0 can access (the stack here,
	// frames later): keep PAN off, now and on exception entry (SPAN).
	MRS	SCTLR_EL1, R0
	ORR	$(1<<23), R0, R0
	MSR	R0, SCTLR_EL1
	PAN0
	ISB

	// Own page tables: the monitor's map all of RAM for EL1 only.
	SUB	$TABLES_BELOW_TOP, R19, R21	// L0
	ADD	$0x1000, R21, R22		// L1
	ADD	$0x2000, R21, R23		// L2, 4 pages
	ADD	$0x6000, R21, R24		// L3, one page per 2 MiB
	MOVD	$runtime·etext(SB), R25
	ADD	$0xfff, R25, R25
	AND	$~0xfff, R25, R25		// end of text, page aligned
	ADD	$0x1fffff, R25, R26
	AND	$~0x1fffff, R26, R26		// ... 2 MiB aligned: the L3-mapped part
	MOVD	$0, R0
l3:
	MOVD	$0, R1
	CMP	$0x10000, R0
	BLO	l3put			// page tables' old home and the zero page: unmapped
	MOVD	$PAGE_BOOT, R1
	CMP	$0x100000, R0
	BLO	l3put
	MOVD	$PAGE_TEXT, R1
	CMP	R25, R0
	BLO	l3put
	MOVD	$PAGE_DATA, R1
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

	// Down to EL0, interrupts masked, at el0probe.
	MOVD	$·el0probe(SB), R0
	MSR	R0, ELR_EL1
	MOVD	$0x3c0, R0
	MSR	R0, SPSR_EL1
	ERET

// el0probe runs at EL0 and makes a Linux system call the way Go's
// runtime does on linux/arm64: SVC #0.
TEXT ·el0probe(SB),NOSPLIT|NOFRAME,$0
again:
	MOVD	$0x5a5a, R8
	SVC0
	B	again

// vectors is VBAR_EL1's table: 16 slots of 0x80 bytes (current EL with
// SP_EL0, with SP_ELx, lower EL AArch64, lower EL AArch32; each sync,
// IRQ, FIQ, SError). Each slot passes its number to exception.
#define SLOT(n) PCALIGN $128; MOVD $n, R9; B ·exception(SB)

TEXT ·vectors(SB),NOSPLIT|NOFRAME,$0
	PCALIGN	$2048
	MOVD	$0, R9
	B	·exception(SB)
	SLOT(1); SLOT(2); SLOT(3); SLOT(4); SLOT(5); SLOT(6); SLOT(7)
	SLOT(8); SLOT(9); SLOT(10); SLOT(11); SLOT(12); SLOT(13); SLOT(14); SLOT(15)

// exception: slot 8 (a synchronous exception from EL0) with ESR_EL1.EC
// 0x15 (SVC from AArch64) and the probe's X8 is the expected one; it
// prints svcTrapped. Anything else prints the slot, ESR_EL1, ELR_EL1 and
// FAR_EL1. Both end the unikernel with status 1: the kernel that would
// run the Go program is not written yet.
TEXT ·exception(SB),NOSPLIT|NOFRAME,$0
	MRS	ESR_EL1, R10
	MRS	ELR_EL1, R11
	MRS	FAR_EL1, R12
	CMP	$8, R9
	BNE	unexpected
	LSR	$26, R10, R0
	CMP	$0x15, R0
	BNE	unexpected
	CMP	$0x5a5a, R8
	BNE	unexpected
	MOVD	$·svcTrapped(SB), R0
	BL	puts<>(SB)
	B	halt1
unexpected:
	MOVD	$·unexpectedTrap(SB), R0
	BL	puts<>(SB)
	MOVD	R9, R0
	BL	puthex<>(SB)
	MOVD	R10, R0
	BL	puthex<>(SB)
	MOVD	R11, R0
	BL	puthex<>(SB)
	MOVD	R12, R0
	BL	puthex<>(SB)
halt1:
	// struct hvt_hc_halt { void *cookie; int exit_status; }
	MOVD	ZR, 0(R20)
	MOVD	$1, R1
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
	MOVD	R1, 0(R20)
	MOVD	R2, 8(R20)
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
	MOVD	R1, 0(R20)
	MOVD	$17, R1
	MOVD	R1, 8(R20)
	MOVD	$(MMIO_BASE+HC_PUTS<<3), R4
	MOVW	R20, (R4)
	RET
