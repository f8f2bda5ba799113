#include "go_asm.h"
#include "textflag.h"

// sigsysHandler(sig int, info *siginfo_t, ctx *ucontext_t), called by
// the kernel with the C ABI: DI, SI, DX. It runs outside Go (on the
// thread's signal stack, no g), so it builds its line (see sigsysHead)
// in a buffer below the stack pointer with plain instructions and makes
// two system calls: write and exit_group. The kernel enters a handler
// with the direction flag clear, as REP MOVSB wants.
TEXT ·sigsysHandler(SB),NOSPLIT|NOFRAME,$0
	MOVL	24(SI), R8                  // info->si_syscall
	SUBQ	$const_sigsysBuf, SP        // the buffer; the handler never returns
	MOVQ	SP, DI                      // the next byte of the line

	LEAQ	·sigsysHead(SB), SI
	MOVQ	·sigsysHeadLen(SB), CX
	REP;	MOVSB

	// The name: amd64Names[nr], or "unknown" past its end or in its gaps.
	MOVQ	·sigsysUnknown(SB), SI
	MOVQ	·sigsysUnknown+8(SB), CX
	CMPQ	R8, ·amd64Names+8(SB)       // len(amd64Names)
	JAE	name
	MOVQ	R8, AX
	SHLQ	$4, AX                      // sizeof(string) == 16
	ADDQ	·amd64Names(SB), AX
	MOVQ	8(AX), BX
	TESTQ	BX, BX
	JZ	name
	MOVQ	0(AX), SI
	MOVQ	BX, CX
name:
	REP;	MOVSB
	MOVB	$0x20, 0(DI)                // ' '
	MOVB	$0x28, 1(DI)                // '('
	ADDQ	$2, DI

	// The number in decimal: digits from the last one back from the
	// buffer's end (past anything written so far), then copied on.
	LEAQ	const_sigsysBuf(SP), R9
	MOVQ	R9, BX
	MOVQ	R8, AX
	MOVQ	$10, R10
digit:
	XORL	DX, DX
	DIVQ	R10                         // AX = AX / 10, DX = AX % 10
	ADDB	$0x30, DX                   // '0'
	DECQ	BX
	MOVB	DX, 0(BX)
	TESTQ	AX, AX
	JNZ	digit
	MOVQ	BX, SI
	MOVQ	R9, CX
	SUBQ	BX, CX
	REP;	MOVSB

	MOVQ	·sigsysTail(SB), SI
	MOVQ	·sigsysTail+8(SB), CX
	REP;	MOVSB

	MOVQ	DI, DX
	SUBQ	SP, DX                      // the line's length
	MOVQ	SP, SI
	MOVQ	$2, DI                      // stderr
	MOVQ	$1, AX                      // SYS_write
	SYSCALL
	MOVQ	$1, DI                      // exit status
	MOVQ	$231, AX                    // SYS_exit_group
	SYSCALL
	INT	$3

// func sigsysHandlerAddr() uintptr
TEXT ·sigsysHandlerAddr(SB),NOSPLIT,$0-8
	LEAQ	·sigsysHandler(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
