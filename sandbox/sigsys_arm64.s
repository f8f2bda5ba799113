#include "go_asm.h"
#include "textflag.h"

// sigsysHandler(sig int, info *siginfo_t, ctx *ucontext_t), called by
// the kernel with the C ABI: R0, R1, R2. It runs outside Go (on the
// thread's signal stack, no g), so it only makes two system calls.
TEXT ·sigsysHandler(SB),NOSPLIT|NOFRAME,$0
	MOVWU	24(R1), R3                  // info->si_syscall
	MOVD	$(const_numMessages-1), R4
	CMP	R4, R3
	BLS	known
	MOVD	R4, R3
known:
	LSL	$4, R3, R3                  // sizeof(message) == 16
	MOVD	$·sigsysMessages(SB), R5
	ADD	R3, R5, R5
	MOVD	0(R5), R1                   // buf
	MOVD	8(R5), R2                   // len
	MOVD	$2, R0                      // stderr
	MOVD	$64, R8                     // SYS_write
	SVC
	MOVD	$1, R0                      // exit status
	MOVD	$94, R8                     // SYS_exit_group
	SVC
	BRK

// func sigsysHandlerAddr() uintptr
TEXT ·sigsysHandlerAddr(SB),NOSPLIT,$0-8
	MOVD	$·sigsysHandler(SB), R0
	MOVD	R0, ret+0(FP)
	RET
