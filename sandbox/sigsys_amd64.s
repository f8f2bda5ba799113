#include "go_asm.h"
#include "textflag.h"

// sigsysHandler(sig int, info *siginfo_t, ctx *ucontext_t), called by
// the kernel with the C ABI: DI, SI, DX. It runs outside Go (on the
// thread's signal stack, no g), so it only makes two system calls.
TEXT ·sigsysHandler(SB),NOSPLIT|NOFRAME,$0
	MOVL	24(SI), AX                  // info->si_syscall
	CMPQ	AX, $(const_numMessages-1)
	JLS	known
	MOVQ	$(const_numMessages-1), AX
known:
	SHLQ	$4, AX                      // sizeof(message) == 16
	LEAQ	·sigsysMessages(SB), BX
	ADDQ	AX, BX
	MOVQ	0(BX), SI                   // buf
	MOVQ	8(BX), DX                   // len
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
