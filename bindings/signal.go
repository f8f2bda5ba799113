//go:build linux && amd64

package bindings

import "unsafe"

// Signals: only those a thread sends to a thread (tgkill, tkill) are
// delivered, which is how the Go runtime preempts a goroutine that runs
// without calling anything (SIGURG; with GODEBUG asyncpreemptoff unset).
// Delivery builds the Linux x86_64 rt_sigframe on the thread's signal
// stack when it next returns to user mode, and rt_sigreturn restores from
// it. The kernel raises no signal of its own: a fault is a crash report.

const (
	nsig         = 64
	_SA_ONSTACK  = 0x08000000
	_SA_NODEFER  = 0x40000000
	_SS_DISABLE  = 2
	_SI_TKILL    = -6
	ucOff        = 8           // rt_sigframe: pretcode, then the ucontext
	infoOff      = ucOff + 304 // then the siginfo
	sigFrameSize = infoOff + 128
	mctxOff      = 40 // sigcontext inside the ucontext
	sigmaskOff   = 296
	fpSize       = 512 // FXSAVE image, the legacy fpstate
)

type sigaction struct {
	handler, flags, restorer, mask uint64
}

var sigactions [nsig + 1]sigaction

func sysRtSigaction(t *thread, a sysArgs) (int64, sysResult) {
	return done(rtSigaction(int(a[0]), a[1], a[2]))
}

func rtSigaction(sig int, act, oact uintptr) int64 {
	if sig < 1 || sig > nsig {
		return -_EINVAL
	}
	if oact != 0 && !copyOut(oact, unsafe.Pointer(&sigactions[sig]), 32) {
		return -_EFAULT
	}
	if act != 0 && !copyIn(unsafe.Pointer(&sigactions[sig]), act, 32) {
		return -_EFAULT
	}
	return 0
}

func sysRtSigprocmask(t *thread, a sysArgs) (int64, sysResult) {
	return done(rtSigprocmask(t, int(a[0]), a[1], a[2]))
}

func rtSigprocmask(t *thread, how int, set, oset uintptr) int64 {
	old := t.sigmask
	if set != 0 {
		v, ok := getU64(set)
		if !ok {
			return -_EFAULT
		}
		switch how {
		case 0: // SIG_BLOCK
			t.sigmask |= v
		case 1: // SIG_UNBLOCK
			t.sigmask &^= v
		case 2: // SIG_SETMASK
			t.sigmask = v
		default:
			return -_EINVAL
		}
	}
	if oset != 0 && !putU64(oset, old) {
		return -_EFAULT
	}
	return 0
}

func sysSigaltstack(t *thread, a sysArgs) (int64, sysResult) {
	return done(sigaltstack(t, a[0], a[1]))
}

func sigaltstack(t *thread, ss, oss uintptr) int64 {
	old := [3]uint64{t.altSP, uint64(t.altFlags), t.altSize}
	if t.altSize == 0 {
		old[1] = _SS_DISABLE
	}
	if ss != 0 {
		var n [3]uint64
		if !copyIn(unsafe.Pointer(&n), ss, 24) {
			return -_EFAULT
		}
		if uint32(n[1])&_SS_DISABLE != 0 {
			t.altSP, t.altSize, t.altFlags = 0, 0, 0
		} else {
			t.altSP, t.altSize, t.altFlags = n[0], n[2], 0
		}
	}
	if oss != 0 && !copyOut(oss, unsafe.Pointer(&old), 24) {
		return -_EFAULT
	}
	return 0
}

func sysTgkill(t *thread, a sysArgs) (int64, sysResult) { return done(tgkill(uint64(a[1]), int(a[2]))) }

func sysTkill(t *thread, a sysArgs) (int64, sysResult) { return done(tgkill(uint64(a[0]), int(a[1]))) }

// tgkill marks sig pending on the thread tid; it is delivered when that
// thread next returns to user mode. Signals without a handler are
// dropped (the runtime's own fallbacks then apply).
func tgkill(tid uint64, sig int) int64 {
	if sig < 0 || sig > nsig {
		return -_EINVAL
	}
	for i := range threads {
		if threads[i].state != tFree && threads[i].tid == tid {
			if sig != 0 && sigactions[sig].handler > 1 {
				threads[i].pending |= 1 << (sig - 1)
				stats.signals++
			}
			return 0
		}
	}
	return -_ESRCH
}

// deliver sets up the handler of a pending, unblocked signal of t, whose
// registers are in f and x87/SSE state in the FX area.
func deliver(f *frame, t *thread) {
	p := t.pending &^ t.sigmask
	if p == 0 {
		return
	}
	sig := 1
	for p&1 == 0 {
		p >>= 1
		sig++
	}
	t.pending &^= 1 << (sig - 1)
	sa := sigactions[sig]
	if sa.handler <= 1 {
		return
	}
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
		return // no stack to deliver on: drop it, as the runtime tolerates
	}
	t.sigmask |= sa.mask
	if sa.flags&_SA_NODEFER == 0 {
		t.sigmask |= 1 << (sig - 1)
	}
	f.RSP = uint64(fr)
	f.RIP = sa.handler
	f.RDI = uint64(sig)
	f.RSI = uint64(fr + infoOff)
	f.RDX = uint64(fr + ucOff)
	f.RAX = 0
	f.RFLAGS &^= 0x400 | 0x100 // DF, TF
	stats.delivered++
}

// sysRtSigreturn restores the registers saved by deliver; the value it
// returns is the restored return register, so the dispatcher's store
// leaves it as it was.
func sysRtSigreturn(t *thread, a sysArgs) (int64, sysResult) {
	f := curFrame()
	if !sigreturn(f, t) {
		fatalTrap(f, "rt_sigreturn with a bad signal frame")
	}
	return done(cpuReturnValue(f))
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
