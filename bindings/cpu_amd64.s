// The CPL0 part of the bindings: boot, trap entry and exit, and the few
// privileged operations the CPL3 kernel asks for. On the machines unimon
// targets, CPL0 code is emulated at about 1 µs per instruction and without
// SSE, so this file is kept short and uses general-purpose registers only;
// every loop here is bounded by the guest's memory size.

#include "textflag.h"
#include "layout_amd64.h"

// rt0 is the ELF entry point (go build -ldflags=-E=...bindings.rt0). The
// CPU is in long mode at CPL0 with the monitor's identity page tables and
// RDI pointing at the hvt boot info.
TEXT ·rt0(SB),NOSPLIT|NOFRAME,$0
	MOVQ	DI, R15
	// The monitor maps 0x10000-0xFFFFF read-only; write our tables there
	// with CR0.WP off until our own (writable) tables are live.
	MOVQ	CR0, AX
	ANDQ	$~0x10000, AX
	MOVQ	AX, CR0
	// Page tables: identity map of guest RAM with 2 MiB user pages. The
	// CPL3 kernel refines the first 2 MiB later.
	MOVQ	$PML4_BASE, BX
	MOVQ	$(PDPT_BASE+7), AX
	MOVQ	AX, 0(BX)
	MOVQ	$PDPT_BASE, BX
	MOVQ	$(PD_BASE+7), AX
	MOVQ	AX, 0(BX)
	ADDQ	$0x1000, AX
	MOVQ	AX, 8(BX)
	ADDQ	$0x1000, AX
	MOVQ	AX, 16(BX)
	ADDQ	$0x1000, AX
	MOVQ	AX, 24(BX)
	MOVQ	0(R15), SI	// mem_size, at most 4 GiB and 2 MiB aligned
	MOVQ	$PD_BASE, DI
	MOVQ	$0x87, AX	// P|RW|US|PS
ptloop:
	MOVQ	AX, 0(DI)
	ADDQ	$0x200000, AX
	ADDQ	$8, DI
	CMPQ	AX, SI
	JB	ptloop
	MOVQ	$PML4_BASE, AX
	MOVQ	AX, CR3
	MOVQ	CR0, AX
	ORQ	$0x10000, AX
	MOVQ	AX, CR0

	// GDT: kernel code/data, user data/code, TSS (fixed base, so the
	// descriptor is a constant).
	MOVQ	$GDT_BASE, BX
	MOVQ	$0, 0(BX)
	MOVQ	$0x00af9b000000ffff, AX
	MOVQ	AX, 8(BX)
	MOVQ	$0x00cf93000000ffff, AX
	MOVQ	AX, 16(BX)
	MOVQ	$0x00cff3000000ffff, AX
	MOVQ	AX, 24(BX)
	MOVQ	$0x00affb000000ffff, AX
	MOVQ	AX, 32(BX)
	MOVQ	$0x0000890201000067, AX
	MOVQ	AX, 40(BX)
	MOVQ	$0, 48(BX)
	MOVW	$55, 0x80(BX)
	MOVQ	BX, 0x82(BX)
	MOVW	$4095, 0x90(BX)
	MOVQ	$IDT_BASE, AX
	MOVQ	AX, 0x92(BX)
	MOVQ	$USER_TOP, AX
	MOVQ	AX, 0x104(BX)	// TSS.RSP0
	MOVQ	$IST_TOP, AX
	MOVQ	AX, 0x124(BX)	// TSS.IST1: the timer's own stack
	MOVW	$0x68, 0x166(BX)	// TSS.IOPB: none
	MOVQ	$GDTR_ADDR, AX
	LGDT	0(AX)
	MOVQ	$IDTR_ADDR, AX
	LIDT	0(AX)
	MOVQ	$TSS_SEL, AX
	LTR	AX
	MOVQ	$KDS, AX
	MOVW	AX, SS
	XORL	AX, AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, FS
	MOVW	AX, GS

	// The kernel's fake g: only the stack bounds matter to compiled Go
	// code. stackguard0 stays 0 so morestack is never called; the
	// unmapped page below KSTACK_LO catches an overflow instead.
	MOVQ	$FAKE_G, BX
	MOVQ	$KSTACK_LO, 0(BX)
	MOVQ	$KSTACK_TOP, 8(BX)
	MOVQ	$KTLS, BX
	MOVQ	$FAKE_G, 0(BX)
	MOVL	$MSR_FS_BASE, CX
	MOVL	$KTLS_FS, AX
	XORL	DX, DX
	WRMSR

	// Enter the CPL3 kernel (interrupts on: no timer runs yet, and the
	// program inherits the flag); it sees boot == 0.
	MOVQ	R15, DI
	PUSHQ	$UDS
	PUSHQ	$KSTACK_TOP
	PUSHQ	$0x202
	PUSHQ	$UCS
	LEAQ	·kentry(SB), AX
	PUSHQ	AX
	IRETQ

// CPL0 trap path. A trap from the program pushes its frame on the
// USER_TOP stack (TSS.RSP0); the stubs add the vector, a zero error code
// where the CPU pushes none, and CR2 for page faults, giving at HW_FRAME:
// cr2, vector, err, rip, cs, rflags, rsp, ss. trapenter then irets into
// kentry at CPL3, which saves the registers itself: the CPL0 part touches
// no general-purpose register on this path. The kernel runs with
// interrupts on; timer ticks that land in it are acknowledged and dropped.

TEXT ·trapenter(SB),NOSPLIT|NOFRAME,$0
	CMPQ	32(SP), $UCS
	JNE	fault	// a fault in this file
	CMPQ	48(SP), $KSTACK_TOP
	JA	user
	CMPQ	48(SP), $(KSTACK_LO-0x1000)
	JAE	fault	// a fault in the kernel (or its guard page)
user:
	PUSHQ	$UDS
	PUSHQ	$KSTACK_TOP
	PUSHQ	$0x202
	PUSHQ	$UCS
	BYTE $0xff; BYTE $0x34; BYTE $0x25; LONG $KENTRY_PTR	// PUSHQ (KENTRY_PTR)
	IRETQ
fault:
	JMP	·kfault(SB)

#define CH(c) MOVB $(c), 0(DI); INCQ DI
#define HEX(off) MOVQ off(R9), AX; CALL ·puthex(SB)

// kfault reports an exception taken in the kernel (or in this file) and
// halts with status 255. Nothing of the CPL3 kernel can be trusted then.
// SP points at the HW_FRAME layout; the registers are the faulting code's.
TEXT ·kfault(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SP, R9
	// A kernel that tried write(2, msg, n) (Go's throw) gets msg shown.
	CMPQ	8(R9), $6
	JNE	kfaultmsg
	CMPQ	AX, $1
	JNE	kfaultmsg
	MOVQ	$HC_ARGS, BX
	MOVQ	SI, 0(BX)
	ANDQ	$0xfff, DX
	MOVQ	DX, 8(BX)
	MOVL	BX, AX
	MOVL	$0x502, DX
	OUTL
kfaultmsg:
	MOVQ	$MSG_BUF, DI
	CH(10); CH('u'); CH('n'); CH('i'); CH('m'); CH('o'); CH('n'); CH(':'); CH(' ')
	CH('k'); CH('e'); CH('r'); CH('n'); CH('e'); CH('l'); CH(' '); CH('t'); CH('r'); CH('a'); CH('p')
	CH(' '); CH('v'); CH('='); HEX(8)
	CH(' '); CH('e'); CH('='); HEX(16)
	CH(' '); CH('r'); CH('i'); CH('p'); CH('='); HEX(24)
	CH(' '); CH('r'); CH('s'); CH('p'); CH('='); HEX(48)
	CH(' '); CH('c'); CH('r'); CH('2'); CH('=')
	MOVQ	CR2, AX
	CALL	·puthex(SB)
	CH(10)
	MOVQ	$HC_ARGS, BX
	MOVQ	$MSG_BUF, AX
	MOVQ	AX, 0(BX)
	SUBQ	AX, DI
	MOVQ	DI, 8(BX)
	MOVL	BX, AX
	MOVL	$0x502, DX
	OUTL
	MOVQ	$0, 0(BX)
	MOVQ	$255, 8(BX)
	MOVL	BX, AX
	MOVL	$0x508, DX
	OUTL
	HLT
	JMP	kfaultmsg

// puthex writes AX as 16 hex digits at DI and advances DI.
TEXT ·puthex(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$16, CX
hexloop:
	ROLQ	$4, AX
	MOVQ	AX, DX
	ANDQ	$15, DX
	ADDQ	$48, DX
	CMPQ	DX, $58
	JB	hexdigit
	ADDQ	$39, DX
hexdigit:
	MOVB	DX, 0(DI)
	INCQ	DI
	DECQ	CX
	JNZ	hexloop
	RET

// vec6 is #UD: the program's patched SYSCALL, or the kernel's request,
// which is always the UD2 at TRAMP_UD2 (AX = request, BX and CX =
// arguments, every register clobbered). Requests are served here and
// return to the RET that follows that UD2.
TEXT ·vec6(SB),NOSPLIT|NOFRAME,$0
	CMPQ	0(SP), $TRAMP_UD2
	JEQ	kreq
	PUSHQ	$0
	PUSHQ	$6
	PUSHQ	$0
	JMP	·trapenter(SB)
kreq:
	CMPQ	AX, $K_HYPERCALL
	JEQ	hypercall
	CMPQ	AX, $K_FLUSH
	JEQ	flush
	CMPQ	AX, $K_WRMSR
	JEQ	wrmsr
	CMPQ	AX, $K_RDMSR
	JEQ	rdmsr
	PUSHQ	$0
	PUSHQ	$6
	PUSHQ	$0
	JMP	·kfault(SB)
hypercall:
	MOVQ	BX, DX
	MOVQ	CX, AX
	OUTL
	ADDQ	$2, 0(SP)
	IRETQ
flush:
	MOVQ	CR3, AX
	MOVQ	AX, CR3
	ADDQ	$2, 0(SP)
	IRETQ
wrmsr:
	MOVQ	BX, AX
	MOVQ	BX, DX
	SHRQ	$32, DX
	WRMSR
	ADDQ	$2, 0(SP)
	IRETQ
rdmsr:
	RDMSR
	SHLQ	$32, DX
	ORQ	DX, AX
	ADDQ	$2, 0(SP)
	IRETQ

// vec14 is #PF: CR2 joins the frame (without disturbing AX).
TEXT ·vec14(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$14
	PUSHQ	AX
	MOVQ	CR2, AX
	XCHGQ	AX, 0(SP)
	JMP	·trapenter(SB)

// vec32 is the x2APIC timer, delivered on its own stack (IST1): the kernel
// runs with interrupts on, and a tick must not overwrite a trap frame at
// HW_FRAME that kentry has not copied yet. A tick that lands in the kernel
// (on its stack, or on the resume tail's final jump) is acknowledged and
// dropped: the kernel checks time slices itself before it returns to the
// program. A tick in the program moves its frame to HW_FRAME and enters
// the kernel like any trap.
TEXT ·vec32(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	AX
	PUSHQ	CX
	PUSHQ	DX
	MOVL	$MSR_X2APIC_EOI, CX
	XORL	AX, AX
	XORL	DX, DX
	WRMSR
	POPQ	DX
	POPQ	CX
	POPQ	AX
	CMPQ	8(SP), $UCS
	JNE	drop
	CMPQ	0(SP), $TRAMP_JMP
	JEQ	drop
	CMPQ	24(SP), $KSTACK_TOP
	JA	tick
	CMPQ	24(SP), $(KSTACK_LO-0x1000)
	JAE	drop
tick:
	PUSHQ	AX
	PUSHQ	BX
	MOVQ	$HW_FRAME, BX
	MOVQ	16(SP), AX
	MOVQ	AX, 24(BX)
	MOVQ	24(SP), AX
	MOVQ	AX, 32(BX)
	MOVQ	32(SP), AX
	MOVQ	AX, 40(BX)
	MOVQ	40(SP), AX
	MOVQ	AX, 48(BX)
	MOVQ	48(SP), AX
	MOVQ	AX, 56(BX)
	MOVQ	$0, 0(BX)
	MOVQ	$32, 8(BX)
	MOVQ	$0, 16(BX)
	POPQ	BX
	POPQ	AX
	MOVQ	$HW_FRAME, SP
	JMP	·trapenter(SB)
drop:
	IRETQ

// vec255 is the APIC spurious vector: no acknowledgement is due.
TEXT ·vec255(SB),NOSPLIT|NOFRAME,$0
	IRETQ

TEXT ·vec0(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$0
	PUSHQ	$0
	JMP	·trapenter(SB)

// vec1 is #DB. With TF set in the program's RFLAGS (a debugger's single
// step), the resume tail's POPFQ traps on its own final jump: go straight
// to the program's RIP instead, still with TF, so the next trap comes
// after one instruction of the program.
TEXT ·vec1(SB),NOSPLIT|NOFRAME,$0
	CMPQ	0(SP), $TRAMP_JMP
	JNE	dbtrap
	PUSHQ	AX
	MOVQ	$FRAME_RIP, AX
	MOVQ	0(AX), AX
	MOVQ	AX, 8(SP)
	POPQ	AX
	IRETQ
dbtrap:
	PUSHQ	$0
	PUSHQ	$1
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec2(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$0x202
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec3(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$3
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec4(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$4
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec5(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$5
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec7(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$7
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec8(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$8
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec9(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$9
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec10(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$10
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec11(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$11
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec12(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$12
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec13(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$13
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec15(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$15
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec16(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$16
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec17(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$17
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec18(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$18
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec19(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$19
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec20(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$20
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec21(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$21
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec22(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$22
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec23(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$23
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec24(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$24
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec25(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$25
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec26(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$26
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec27(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$27
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec28(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$28
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec29(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$29
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec30(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$30
	PUSHQ	$0
	JMP	·trapenter(SB)

TEXT ·vec31(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	$0
	PUSHQ	$31
	PUSHQ	$0
	JMP	·trapenter(SB)


// The rest runs at CPL3.

// kentry is where every trap enters the CPL3 kernel, on a fresh kernel
// stack with the program's registers still live. It builds the frame at
// FRAME (the top of the kernel stack) from them and from HW_FRAME, swaps
// the fake g into the trapping thread's TLS g slot (so compiled kernel
// code, which reloads g from TLS after assembly calls, runs on the fake g;
// resumeUser puts the slot back), saves the x87/SSE state and calls ktrap.
TEXT ·kentry(SB),NOSPLIT|NOFRAME,$0
	SUBQ	$56, SP
	PUSHQ	AX
	PUSHQ	BX
	PUSHQ	CX
	PUSHQ	DX
	PUSHQ	SI
	PUSHQ	DI
	PUSHQ	BP
	PUSHQ	R8
	PUSHQ	R9
	PUSHQ	R10
	PUSHQ	R11
	PUSHQ	R12
	PUSHQ	R13
	PUSHQ	R14
	PUSHQ	R15
	SUBQ	$16, SP
	MOVQ	$HW_FRAME, SI
	MOVQ	0(SI), AX
	MOVQ	AX, 8(SP)
	MOVQ	8(SI), AX
	MOVQ	AX, 136(SP)
	MOVQ	16(SI), AX
	MOVQ	AX, 144(SP)
	MOVQ	24(SI), AX
	MOVQ	AX, 152(SP)
	MOVQ	32(SI), AX
	MOVQ	AX, 160(SP)
	MOVQ	40(SI), AX
	MOVQ	AX, 168(SP)
	MOVQ	48(SI), AX
	MOVQ	AX, 176(SP)
	MOVQ	56(SI), AX
	MOVQ	AX, 184(SP)
	BYTE $0x64; BYTE $0x48; BYTE $0x8b; BYTE $0x04; BYTE $0x25; LONG $0xfffffff8	// MOVQ FS:-8, AX
	MOVQ	$ENTRY_GSLOT, DI
	MOVQ	AX, 0(DI)
	MOVQ	$FAKE_G, AX
	BYTE $0x64; BYTE $0x48; BYTE $0x89; BYTE $0x04; BYTE $0x25; LONG $0xfffffff8	// MOVQ AX, FS:-8
	MOVQ	$FXAREA, AX
	FXSAVE64	0(AX)
	CALL	·ktrap(SB)
	UD2

// kcall issues a request to the CPL0 part: the UD2 at TRAMP_UD2.
// func kcall(op, a1, a2 uintptr) uintptr
TEXT ·kcall(SB),NOSPLIT,$0-32
	MOVQ	op+0(FP), AX
	MOVQ	a1+8(FP), BX
	MOVQ	a2+16(FP), CX
	MOVQ	$TRAMP_UD2, R8
	CALL	R8
	MOVQ	AX, ret+24(FP)
	RET

// resumeUser returns to the program with the registers in the frame,
// without CPL0 unless the FS base changes: it puts back the TLS g slot of
// the thread that trapped (FS still points at its TLS), switches FS to
// the resumed thread's base (WANT_FS) if needed, restores the x87/SSE
// state and jumps to the resume tail, which pops the registers and jumps
// to the program. No compiled code runs after the slot is restored.
// func resumeUser()
TEXT ·resumeUser(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$ENTRY_GSLOT, DI
	MOVQ	0(DI), AX
	BYTE $0x64; BYTE $0x48; BYTE $0x89; BYTE $0x04; BYTE $0x25; LONG $0xfffffff8	// MOVQ AX, FS:-8
	MOVQ	$WANT_FS, DI
	MOVQ	0(DI), BX
	MOVQ	$CUR_FS, DI
	CMPQ	BX, 0(DI)
	JEQ	samefs
	MOVQ	BX, 0(DI)
	MOVQ	$K_WRMSR, AX
	MOVL	$MSR_FS_BASE, CX
	MOVQ	$TRAMP_UD2, R8
	CALL	R8
samefs:
	MOVQ	$FXAREA, AX
	FXRSTOR64	0(AX)
	MOVQ	$(FRAME+16), SP
	MOVQ	$TRAMP_TAIL, AX
	JMP	AX

// func stubAddrs(dst *[34]uintptr)
TEXT ·stubAddrs(SB),NOSPLIT,$0-8
	MOVQ	dst+0(FP), DI
	LEAQ ·vec0(SB), AX
	MOVQ AX, 0(DI)
	LEAQ ·vec1(SB), AX
	MOVQ AX, 8(DI)
	LEAQ ·vec2(SB), AX
	MOVQ AX, 16(DI)
	LEAQ ·vec3(SB), AX
	MOVQ AX, 24(DI)
	LEAQ ·vec4(SB), AX
	MOVQ AX, 32(DI)
	LEAQ ·vec5(SB), AX
	MOVQ AX, 40(DI)
	LEAQ ·vec6(SB), AX
	MOVQ AX, 48(DI)
	LEAQ ·vec7(SB), AX
	MOVQ AX, 56(DI)
	LEAQ ·vec8(SB), AX
	MOVQ AX, 64(DI)
	LEAQ ·vec9(SB), AX
	MOVQ AX, 72(DI)
	LEAQ ·vec10(SB), AX
	MOVQ AX, 80(DI)
	LEAQ ·vec11(SB), AX
	MOVQ AX, 88(DI)
	LEAQ ·vec12(SB), AX
	MOVQ AX, 96(DI)
	LEAQ ·vec13(SB), AX
	MOVQ AX, 104(DI)
	LEAQ ·vec14(SB), AX
	MOVQ AX, 112(DI)
	LEAQ ·vec15(SB), AX
	MOVQ AX, 120(DI)
	LEAQ ·vec16(SB), AX
	MOVQ AX, 128(DI)
	LEAQ ·vec17(SB), AX
	MOVQ AX, 136(DI)
	LEAQ ·vec18(SB), AX
	MOVQ AX, 144(DI)
	LEAQ ·vec19(SB), AX
	MOVQ AX, 152(DI)
	LEAQ ·vec20(SB), AX
	MOVQ AX, 160(DI)
	LEAQ ·vec21(SB), AX
	MOVQ AX, 168(DI)
	LEAQ ·vec22(SB), AX
	MOVQ AX, 176(DI)
	LEAQ ·vec23(SB), AX
	MOVQ AX, 184(DI)
	LEAQ ·vec24(SB), AX
	MOVQ AX, 192(DI)
	LEAQ ·vec25(SB), AX
	MOVQ AX, 200(DI)
	LEAQ ·vec26(SB), AX
	MOVQ AX, 208(DI)
	LEAQ ·vec27(SB), AX
	MOVQ AX, 216(DI)
	LEAQ ·vec28(SB), AX
	MOVQ AX, 224(DI)
	LEAQ ·vec29(SB), AX
	MOVQ AX, 232(DI)
	LEAQ ·vec30(SB), AX
	MOVQ AX, 240(DI)
	LEAQ ·vec31(SB), AX
	MOVQ AX, 248(DI)
	LEAQ ·vec32(SB), AX
	MOVQ AX, 256(DI)
	LEAQ ·vec255(SB), AX
	MOVQ AX, 264(DI)
	RET

// func goEntry() uintptr returns the Linux entry of the Go runtime.
TEXT ·goEntry(SB),NOSPLIT,$0-8
	LEAQ	_rt0_amd64_linux(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func vdsoEntry() uintptr returns the address of vdsoClockGettime.
TEXT ·vdsoEntry(SB),NOSPLIT,$0-8
	LEAQ	·vdsoClockGettime(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func rdtsc() uint64
TEXT ·rdtsc(SB),NOSPLIT,$0-8
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+0(FP)
	RET

// func rdrand() (v uint64, ok bool)
TEXT ·rdrand(SB),NOSPLIT,$0-9
	BYTE $0x48; BYTE $0x0f; BYTE $0xc7; BYTE $0xf0	// RDRAND AX
	SETCS	ret1+8(FP)
	MOVQ	AX, ret+0(FP)
	RET

// func rdseed() (v uint64, ok bool)
TEXT ·rdseed(SB),NOSPLIT,$0-9
	BYTE $0x48; BYTE $0x0f; BYTE $0xc7; BYTE $0xf8	// RDSEED AX
	SETCS	ret1+8(FP)
	MOVQ	AX, ret+0(FP)
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB),NOSPLIT,$0-24
	MOVL	leaf+0(FP), AX
	MOVL	sub+4(FP), CX
	CPUID
	MOVL	AX, a+8(FP)
	MOVL	BX, b+12(FP)
	MOVL	CX, c+16(FP)
	MOVL	DX, d+20(FP)
	RET

// vdsoClockGettime is __vdso_clock_gettime(clockid DI, *timespec SI) in
// the System V ABI, reached by the Go runtime through the in-memory vDSO
// without trapping: time = anchor + (TSC - tsc0) * scale >> 32.
// Only AX, CX, DX, R8 are used (caller-saved in the C ABI).
TEXT ·vdsoClockGettime(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$VDSO_DATA, R8
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	SUBQ	0(R8), AX	// tsc0
	MULQ	8(R8)	// scale: DX:AX = delta * scale
	SHRQ	$32, DX, AX	// AX = (DX:AX) >> 32
	CMPL	DI, $0
	JEQ	realtime
	CMPL	DI, $8	// CLOCK_REALTIME_ALARM
	JEQ	realtime
	CMPL	DI, $5	// CLOCK_REALTIME_COARSE
	JNE	split
realtime:
	ADDQ	16(R8), AX	// wall clock at tsc0
split:
	XORL	DX, DX
	MOVQ	$1000000000, CX
	DIVQ	CX
	MOVQ	AX, 0(SI)
	MOVQ	DX, 8(SI)
	XORL	AX, AX
	RET

// func kentryAddr() uintptr
TEXT ·kentryAddr(SB),NOSPLIT,$0-8
	LEAQ	·kentry(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
