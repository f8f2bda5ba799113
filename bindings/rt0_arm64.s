//go:build linux && arm64

#include "textflag.h"

// Solo5 hvt aarch64 hypercalls: a 32-bit store of the argument struct's
// guest-physical address to MMIO_BASE + nr<<3.
#define MMIO_BASE 0x100000000
#define HC_PUTS 2
#define HC_HALT 8

// rt0: entered at EL1h with the monitor's identity page tables (MMU on),
// interrupts masked, SP_EL1 at the top of RAM and X0 at the boot info.
// The argument structs go on that stack, which is below 4 GiB as the
// 32-bit hypercall arguments require.
TEXT ·rt0(SB),NOSPLIT|NOFRAME,$0
	// Keeps buildInfo, which unimon build fills in, in the binary.
	MOVD	$·buildInfo(SB), R6
	SUB	$32, RSP, R5
	MOVD	R5, RSP
	// struct hvt_hc_puts { uint64 data; uint64 len; }
	MOVD	$·notPorted(SB), R0
	MOVD	0(R0), R1
	MOVD	8(R0), R2
	MOVD	R1, 0(R5)
	MOVD	R2, 8(R5)
	MOVD	$(MMIO_BASE+HC_PUTS<<3), R4
	MOVW	R5, (R4)
	// struct hvt_hc_halt { void *cookie; int exit_status; }
	MOVD	ZR, 0(R5)
	MOVD	$1, R1
	MOVD	R1, 8(R5)
	MOVD	$(MMIO_BASE+HC_HALT<<3), R4
halt:
	MOVW	R5, (R4)
	B	halt
