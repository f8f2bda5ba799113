//go:build linux && arm64

package bindings

import "unsafe"

// The Linux arm64 signal frame (struct rt_sigframe: siginfo, then the
// ucontext whose sigcontext holds the registers and, in its reserved
// area, an fpsimd_context record and the terminating null record).
const (
	infoSize     = 128
	ucOff        = infoSize
	ucStackOff   = 16  // uc_stack: ss_sp, ss_flags, ss_size
	ucMaskOff    = 40  // uc_sigmask (the kernel's sigset is 1024 bits)
	mctxOff      = 176 // uc_mcontext, 16-byte aligned
	scRegsOff    = 8   // after fault_address: regs[31], sp, pc, pstate
	scResOff     = 288 // __reserved, 16-byte aligned
	fpsimdMagic  = 0x46508001
	fpsimdSize   = 16 + 16 + 512 // head, fpsr and fpcr, vregs
	sigFrameSize = ucOff + mctxOff + scResOff + fpsimdSize + 16
)

// sigframePush builds the rt_sigframe of the signal info describes for
// handler sa on
// t's stack (its signal stack if sa asks and it has one) and points f at
// the handler, returning to sigreturnTramp (there is no vDSO, and Go's
// runtime sets no restorer on arm64); false when the stack cannot take
// it.
func sigframePush(f *frame, t *thread, info sigInfo, sa *sigaction) bool {
	sp := uintptr(f.SP)
	onAlt := sp > uintptr(t.altSP) && sp <= uintptr(t.altSP+t.altSize)
	if sa.flags&_SA_ONSTACK != 0 && t.altSize != 0 && !onAlt {
		sp = uintptr(t.altSP + t.altSize)
	}
	fr := (sp - sigFrameSize) &^ 15
	var b [sigFrameSize]byte
	put := func(off int, v uint64) { *(*uint64)(unsafe.Pointer(&b[off])) = v }
	*(*int32)(unsafe.Pointer(&b[0])) = info.signo
	*(*int32)(unsafe.Pointer(&b[8])) = info.code
	put(16, info.addr) // si_addr, or si_pid and si_uid
	put(ucOff+ucStackOff, t.altSP)
	put(ucOff+ucStackOff+8, uint64(t.altFlags))
	if t.altSize == 0 {
		put(ucOff+ucStackOff+8, _SS_DISABLE)
	}
	put(ucOff+ucStackOff+16, t.altSize)
	put(ucOff+ucMaskOff, t.sigmask)
	m := ucOff + mctxOff
	put(m, f.FAR)
	for i, v := range f.X {
		put(m+scRegsOff+8*i, v)
	}
	put(m+scRegsOff+8*31, f.SP)
	put(m+scRegsOff+8*32, f.PC)
	put(m+scRegsOff+8*33, f.PSTATE)
	r := m + scResOff
	*(*uint32)(unsafe.Pointer(&b[r])) = fpsimdMagic
	*(*uint32)(unsafe.Pointer(&b[r+4])) = fpsimdSize
	fp := fpArea()
	copy(b[r+16:r+fpsimdSize], fp[512:528]) // fpsr, fpcr
	copy(b[r+32:r+fpsimdSize], fp[:512])
	if !copyOut(fr, unsafe.Pointer(&b), sigFrameSize) {
		return false
	}
	f.SP = uint64(fr)
	f.PC = sa.handler
	f.X[0] = uint64(info.signo)
	f.X[1] = uint64(fr)
	f.X[2] = uint64(fr + ucOff)
	f.X[30] = uint64(sigreturnTrampAddr())
	return true
}

// sigreturn restores the context saved by sigframePush; the handler
// returned to sigreturnTramp with SP at the frame again.
func sigreturn(f *frame, t *thread) bool {
	fr := uintptr(f.SP)
	var b [sigFrameSize]byte
	if !copyIn(unsafe.Pointer(&b), fr, sigFrameSize) {
		return false
	}
	get := func(off int) uint64 { return *(*uint64)(unsafe.Pointer(&b[off])) }
	m := ucOff + mctxOff
	for i := range f.X {
		f.X[i] = get(m + scRegsOff + 8*i)
	}
	f.SP = get(m + scRegsOff + 8*31)
	f.PC = get(m + scRegsOff + 8*32)
	// Only the condition flags are the program's to change.
	f.PSTATE = get(m+scRegsOff+8*33)&0xf000_0000 | pstateUser
	r := m + scResOff
	if *(*uint32)(unsafe.Pointer(&b[r])) == fpsimdMagic {
		fp := fpArea()
		copy(fp[512:528], b[r+16:r+32])
		copy(fp[:512], b[r+32:r+fpsimdSize])
	}
	t.sigmask = get(ucOff + ucMaskOff)
	return true
}
