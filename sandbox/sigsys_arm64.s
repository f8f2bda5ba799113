#include "go_asm.h"
#include "textflag.h"

// sigsysHandler(sig int, info *siginfo_t, ctx *ucontext_t), called by
// the kernel with the C ABI: R0, R1, R2. It runs outside Go (on the
// thread's signal stack, no g), so it builds its line (see sigsysHead)
// in a buffer below the stack pointer with plain instructions and makes
// two system calls: write and exit_group. R4 is the buffer, R5 the next
// byte of the line; sigsysCopy appends R7 bytes from R6 (BL overwrites
// the link register, which the handler never returns through).
TEXT ·sigsysHandler(SB),NOSPLIT|NOFRAME,$0
	MOVWU	24(R1), R3                  // info->si_syscall
	SUB	$const_sigsysBuf, RSP       // the buffer; the handler never returns
	MOVD	RSP, R4
	MOVD	R4, R5

	MOVD	$·sigsysHead(SB), R6
	MOVD	·sigsysHeadLen(SB), R7
	BL	·sigsysCopy(SB)

	// The name: arm64Names[nr], or "unknown" past its end or in its gaps.
	MOVD	$·sigsysUnknown(SB), R9
	MOVD	0(R9), R6
	MOVD	8(R9), R7
	MOVD	$·arm64Names(SB), R9
	MOVD	8(R9), R10                  // len(arm64Names)
	CMP	R10, R3
	BHS	name
	MOVD	0(R9), R11
	ADD	R3<<4, R11, R11             // sizeof(string) == 16
	MOVD	8(R11), R12
	CBZ	R12, name
	MOVD	0(R11), R6
	MOVD	R12, R7
name:
	BL	·sigsysCopy(SB)
	MOVD	$0x20, R8                   // ' '
	MOVB.P	R8, 1(R5)
	MOVD	$0x28, R8                   // '('
	MOVB.P	R8, 1(R5)

	// The number in decimal: digits from the last one back from the
	// buffer's end (past anything written so far), then copied on.
	ADD	$const_sigsysBuf, R4, R13
	MOVD	R13, R14
	MOVD	$10, R15
digit:
	UDIV	R15, R3, R16                // R16 = R3 / 10
	MSUB	R15, R3, R16, R17           // R17 = R3 - R16*10
	ADD	$0x30, R17                  // '0'
	MOVB.W	R17, -1(R14)
	MOVD	R16, R3
	CBNZ	R3, digit
	MOVD	R14, R6
	SUB	R14, R13, R7
	BL	·sigsysCopy(SB)

	MOVD	$·sigsysTail(SB), R9
	MOVD	0(R9), R6
	MOVD	8(R9), R7
	BL	·sigsysCopy(SB)

	SUB	R4, R5, R2                  // the line's length
	MOVD	R4, R1
	MOVD	$2, R0                      // stderr
	MOVD	$64, R8                     // SYS_write
	SVC
	MOVD	$1, R0                      // exit status
	MOVD	$94, R8                     // SYS_exit_group
	SVC
	BRK

// sigsysCopy copies R7 bytes from R6 to R5, advancing both.
TEXT ·sigsysCopy(SB),NOSPLIT|NOFRAME,$0
loop:
	CBZ	R7, done
	MOVBU.P	1(R6), R8
	MOVB.P	R8, 1(R5)
	SUB	$1, R7
	B	loop
done:
	RET

// func sigsysHandlerAddr() uintptr
TEXT ·sigsysHandlerAddr(SB),NOSPLIT,$0-8
	MOVD	$·sigsysHandler(SB), R0
	MOVD	R0, ret+0(FP)
	RET
