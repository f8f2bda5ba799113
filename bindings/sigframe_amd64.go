//go:build linux && amd64

package bindings

import "unsafe"

// The Linux x86_64 signal frame: deliver pushes it, rt_sigreturn pops it.

const (
	ucOff        = 8           // rt_sigframe: pretcode, then the ucontext
	infoOff      = ucOff + 304 // then the siginfo
	sigFrameSize = infoOff + 128
	mctxOff      = 40 // sigcontext inside the ucontext
	sigmaskOff   = 296
	fpSize       = 512 // FXSAVE image, the legacy fpstate
)

// sigframePush builds the rt_sigframe of signal sig for handler sa on
// t's stack (its signal stack if sa asks and it has one) and points f at
// the handler; false when the stack cannot take it.
func sigframePush(f *frame, t *thread, sig int, sa *sigaction) bool {
	sp := uintptr(f.RSP)
	onAlt := sp > uintptr(t.altSP) && sp <= uintptr(t.altSP+t.altSize)
	if sa.flags&_SA_ONSTACK != 0 && t.altSize != 0 && !onAlt {
		sp = uintptr(t.altSP + t.altSize)
	} else {
		sp -= 128 // the red zone
	}
	fp := (sp - fpSize) &^ 63
	fr := ((fp - sigFrameSize) &^ 15) - 8
	var b [sigFrameSize]byte
	put := func(off int, v uint64) { *(*uint64)(unsafe.Pointer(&b[off])) = v }
	put(0, sa.restorer)
	put(ucOff+16, t.altSP)
	put(ucOff+24, uint64(t.altFlags))
	if t.altSize == 0 {
		put(ucOff+24, _SS_DISABLE)
	}
	put(ucOff+32, t.altSize)
	m := ucOff + mctxOff
	for i, v := range [...]uint64{f.R8, f.R9, f.R10, f.R11, f.R12, f.R13, f.R14, f.R15, f.RDI, f.RSI,
		f.RBP, f.RBX, f.RDX, f.RAX, f.RCX, f.RSP, f.RIP, f.RFLAGS} {
		put(m+8*i, v)
	}
	put(m+144, userCS|userDS<<48)
	put(m+152, f.Err)
	put(m+160, f.Vector)
	put(m+176, f.CR2)
	put(m+184, uint64(fp))
	put(ucOff+sigmaskOff, t.sigmask)
	*(*int32)(unsafe.Pointer(&b[infoOff])) = int32(sig)
	*(*int32)(unsafe.Pointer(&b[infoOff+8])) = _SI_TKILL
	*(*uint32)(unsafe.Pointer(&b[infoOff+16])) = 1 // si_pid
	if !copyOut(fp, unsafe.Pointer(fpArea()), fpSize) || !copyOut(fr, unsafe.Pointer(&b), sigFrameSize) {
		return false
	}
	f.RSP = uint64(fr)
	f.RIP = sa.handler
	f.RDI = uint64(sig)
	f.RSI = uint64(fr + infoOff)
	f.RDX = uint64(fr + ucOff)
	f.RAX = 0
	f.RFLAGS &^= 0x400 | 0x100 // DF, TF
	return true
}

// sigreturn restores the context saved by deliver; the restorer called
// it with RSP at the ucontext.
func sigreturn(f *frame, t *thread) bool {
	uc := uintptr(f.RSP)
	var b [sigFrameSize - ucOff]byte
	if !copyIn(unsafe.Pointer(&b), uc, uintptr(len(b))) {
		return false
	}
	get := func(off int) uint64 { return *(*uint64)(unsafe.Pointer(&b[off])) }
	m := mctxOff
	f.R8, f.R9, f.R10, f.R11 = get(m), get(m+8), get(m+16), get(m+24)
	f.R12, f.R13, f.R14, f.R15 = get(m+32), get(m+40), get(m+48), get(m+56)
	f.RDI, f.RSI, f.RBP, f.RBX = get(m+64), get(m+72), get(m+80), get(m+88)
	f.RDX, f.RAX, f.RCX, f.RSP = get(m+96), get(m+104), get(m+112), get(m+120)
	f.RIP = get(m + 128)
	// Only the flags user mode may change; interrupts stay on.
	f.RFLAGS = get(m+136)&0x254dd5 | 0x202
	if fp := uintptr(get(m + 184)); fp != 0 && !copyIn(unsafe.Pointer(fpArea()), fp, fpSize) {
		return false
	}
	t.sigmask = get(sigmaskOff)
	return true
}
