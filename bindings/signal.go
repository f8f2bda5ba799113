//go:build linux

package bindings

import "unsafe"

// Signals: those a thread sends to a thread (tgkill, tkill: how the Go
// runtime preempts a goroutine that runs without calling anything,
// SIGURG) are delivered when the thread next returns to user mode; the
// signal of a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, with
// Linux's si_code and si_addr; the architecture maps its exceptions in
// faultSignal) is delivered at once, as Linux's force_sig_fault, so the
// runtime's handler turns it into a Go panic (sigpanic). Delivery builds
// the Linux rt_sigframe on the thread's signal stack, and rt_sigreturn
// restores from it. A fault whose signal cannot be delivered (no handler,
// the signal blocked: a fault in its own handler, no stack for the
// frame) is the crash report (fatalTrap), where Linux would kill the
// process.

const (
	nsig        = 64
	_SA_ONSTACK = 0x08000000
	_SA_NODEFER = 0x40000000
	_SS_DISABLE = 2
	_SI_TKILL   = -6
	_SI_KERNEL  = 0x80

	_SIGILL  = 4
	_SIGTRAP = 5
	_SIGBUS  = 7
	_SIGFPE  = 8
	_SIGSEGV = 11

	_ILL_ILLOPC  = 1
	_ILL_ILLOPN  = 2
	_TRAP_BRKPT  = 1
	_TRAP_TRACE  = 2
	_BUS_ADRALN  = 1
	_FPE_INTDIV  = 1
	_FPE_FLTINV  = 7
	_SEGV_MAPERR = 1
	_SEGV_ACCERR = 2
)

// sigInfo is what the kernel puts in a siginfo_t: the signal, si_code,
// and the first word of the union (si_addr of a fault; si_pid and
// si_uid of a kill).
type sigInfo struct {
	signo, code int32
	addr        uint64
}

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
	for i := range slots() {
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
// registers are in f and floating-point state in the FP area.
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
	sa := &sigactions[sig]
	if sa.handler <= 1 {
		return
	}
	if !sigframePush(f, t, sigInfo{signo: int32(sig), code: _SI_TKILL, addr: 1}, sa) {
		return // no stack to deliver on: drop it, as the runtime tolerates
	}
	handling(t, sig, sa)
}

// handling blocks what sa asks while its handler for sig runs.
func handling(t *thread, sig int, sa *sigaction) {
	t.sigmask |= sa.mask
	if sa.flags&_SA_NODEFER == 0 {
		t.sigmask |= 1 << (sig - 1)
	}
	stats.delivered++
}

// fault delivers the signal of the program's exception in f (the
// architecture's faultSignal says which), or reports the crash when there
// is none or it cannot be delivered.
func fault(f *frame, t *thread, what string) {
	info, ok := faultSignal(f)
	if !ok || !raise(f, t, info) {
		fatalTrap(f, what)
	}
}

// raise delivers the signal of a fault of thread t (registers in f) now;
// false when it cannot be (see above), for the caller's crash report.
func raise(f *frame, t *thread, info sigInfo) bool {
	sig := int(info.signo)
	sa := &sigactions[sig]
	if sa.handler <= 1 || t.sigmask&(1<<(sig-1)) != 0 {
		return false
	}
	stats.signals++
	if !sigframePush(f, t, info, sa) {
		return false
	}
	handling(t, sig, sa)
	return true
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
