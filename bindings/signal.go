//go:build linux

package bindings

import "unsafe"

// Signals: only those a thread sends to a thread (tgkill, tkill) are
// delivered, which is how the Go runtime preempts a goroutine that runs
// without calling anything (SIGURG; with GODEBUG asyncpreemptoff unset).
// Delivery builds the Linux x86_64 rt_sigframe on the thread's signal
// stack when it next returns to user mode, and rt_sigreturn restores from
// it. The kernel raises no signal of its own: a fault is a crash report.

const (
	nsig        = 64
	_SA_ONSTACK = 0x08000000
	_SA_NODEFER = 0x40000000
	_SS_DISABLE = 2
	_SI_TKILL   = -6
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
	if !sigframePush(f, t, sig, sa) {
		return // no stack to deliver on: drop it, as the runtime tolerates
	}
	t.sigmask |= sa.mask
	if sa.flags&_SA_NODEFER == 0 {
		t.sigmask |= 1 << (sig - 1)
	}
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
