//go:build linux && amd64

package bindings

import "unsafe"

// Linux errno values the emulation returns (negated in RAX).
const (
	_ENOENT    = 2
	_EBADF     = 9
	_EAGAIN    = 11
	_ENOMEM    = 12
	_EFAULT    = 14
	_EINVAL    = 22
	_ESPIPE    = 29
	_ENOSYS    = 38
	_ETIMEDOUT = 110
)

// isSyscallSite reports whether pc is one of the SYSCALLs unimon build
// turned into UD2 (binary search of the sorted table it recorded).
func isSyscallSite(pc uintptr) bool {
	tab := uintptr(buildInfo[1])
	lo, hi := uintptr(0), uintptr(buildInfo[2])
	for lo < hi {
		m := (lo + hi) / 2
		v := uintptr(*u64at(tab + 8*m))
		switch {
		case v == pc:
			return true
		case v < pc:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// syscall emulates the system call in f (Linux x86_64 convention: number
// in RAX, arguments in RDI, RSI, RDX, R10, R8, R9) for thread t.
func syscall(f *frame, t *thread) {
	stats.syscalls++
	nr := f.RAX
	a0, a1, a2, a3, a4 := uintptr(f.RDI), uintptr(f.RSI), uintptr(f.RDX), uintptr(f.R10), uintptr(f.R8)
	// Like SYSCALL, return after the instruction with RCX and R11
	// clobbered.
	f.RIP += 2
	f.RCX = f.RIP
	f.R11 = f.RFLAGS
	var r int64
	switch nr {
	case 0: // read
		r = sysRead(int(a0), a1, a2)
		if r == -_EAGAIN && netBlock(f, t, int(a0)) {
			return
		}
	case 1: // write
		r = sysWrite(int(a0), a1, a2)
	case 3: // close
		r = fdClose(int(a0))
	case 5: // fstat
		r = sysFstat(int(a0), a1)
	case 8: // lseek
		r = sysLseek(int(a0), int64(a1), int(a2))
	case 9: // mmap
		r = sysMmap(a0, a1, uint32(a2), uint32(a3), int32(a4))
	case 10: // mprotect
		r = 0
	case 11: // munmap
		r = sysMunmap(a0, a1)
	case 13: // rt_sigaction
		r = sysRtSigaction(int(a0), a1, a2)
	case 14: // rt_sigprocmask
		r = sysRtSigprocmask(t, int(a0), a1, a2)
	case 15: // rt_sigreturn: everything comes from the signal frame
		if !sysRtSigreturn(f, t) {
			fatalTrap(f, "rt_sigreturn with a bad signal frame")
		}
		return
	case 17: // pread64
		r = sysPread(int(a0), a1, a2, int64(a3), true)
	case 18: // pwrite64
		r = sysPwrite(int(a0), a1, a2, int64(a3), true)
	case 24: // sched_yield
		f.RAX = 0
		yield(f, t)
		return
	case 27: // mincore: everything is resident
		r = sysMincore(a1, a2)
	case 28: // madvise
		r = sysMadvise(a0, a1, int(a2))
	case 35: // nanosleep
		r = sysNanosleep(f, t, a0)
		if r == 1 {
			return
		}
	case 39: // getpid
		r = 1
	case 56: // clone
		r = sysClone(f, a0, a1, a4)
	case 60: // exit: the thread ends
		t.state = tFree
		schedule(f)
		return
	case 72: // fcntl
		r = sysFcntl(int(a0), int(a1), a2)
	case 96: // gettimeofday
		r = sysGettimeofday(a0)
	case 102, 104, 107, 108: // getuid, getgid, geteuid, getegid
		r = 0
	case 131: // sigaltstack
		r = sysSigaltstack(t, a0, a1)
	case 157: // prctl
		r = 0
	case 158: // arch_prctl
		r = sysArchPrctl(t, a0, a1)
	case 186: // gettid
		r = int64(t.tid)
	case 200: // tkill
		r = sysTgkill(uint64(a0), int(a1))
	case 234: // tgkill
		r = sysTgkill(uint64(a1), int(a2))
	case 202: // futex
		r = sysFutex(f, t, a0, int(a1), uint32(a2), a3)
		if r == 1<<62 {
			return
		}
	case 204: // sched_getaffinity: one CPU
		if a1 < 8 {
			r = -_EINVAL
		} else if !putU64(a2, 1) {
			r = -_EFAULT
		} else {
			r = 8
		}
	case 228: // clock_gettime (the vDSO normally answers)
		r = sysClockGettime(int(a0), a1)
	case 231: // exit_group
		exitGroup(int(a0))
	case 232: // epoll_wait
		r = sysEpollWait(f, t, int(a0), a1, int(a2), int(int32(a3)))
		if r == 1<<62 {
			return
		}
	case 233: // epoll_ctl
		r = sysEpollCtl(int(a0), int(a1), int(a2), a3)
	case 257: // openat: only the devices, at DevicePrefix+NAME
		r = sysOpenat(a1, int(a2))
	case 281: // epoll_pwait
		r = sysEpollWait(f, t, int(a0), a1, int(a2), int(int32(a3)))
		if r == 1<<62 {
			return
		}
	case 290: // eventfd2
		r = sysEventfd(uint64(uint32(a0)))
	case 291: // epoll_create1
		r = fdAlloc(fdEpoll)
	case 318: // getrandom
		r = sysGetrandom(a0, a1)
	default:
		r = -_ENOSYS
	}
	f.RAX = uint64(r)
	if now()-t.since >= timeSlice {
		yield(f, t)
	}
}

func exitGroup(status int) {
	if showStats {
		printStats()
	}
	halt(status & 0xff)
}

func zeroOut(va, n uintptr) bool {
	var z [64]byte
	return copyOut(va, unsafe.Pointer(&z), n)
}

func sysWrite(fd int, buf, n uintptr) int64 {
	switch fd {
	case 1, 2:
		done := uintptr(0)
		for done < n {
			pa := translate(buf + done)
			if pa == 0 {
				if done == 0 {
					return -_EFAULT
				}
				break
			}
			c := min(n-done, pageSize-(buf+done)&(pageSize-1))
			putsPhys(pa, c)
			done += c
		}
		return int64(done)
	}
	if fd >= 0 && fd < maxFDs && fds[fd].kind == fdEventfd {
		v, ok := getU64(buf)
		if n < 8 || !ok {
			return -_EINVAL
		}
		fds[fd].count += v
		epollWake()
		return 8
	}
	return sysPwrite(fd, buf, n, 0, false)
}

// sysPread and sysPwrite are pread64 and pwrite64 (at) or read and write
// on the devices.
func sysPread(fd int, buf, n uintptr, off int64, at bool) int64 {
	e := fdGet(fd)
	if e == nil || (e.kind != fdBlock && e.kind != fdNet) {
		if at && e != nil {
			return -_ESPIPE
		}
		return -_EBADF
	}
	return devRead(e, buf, n, off, at)
}

func sysPwrite(fd int, buf, n uintptr, off int64, at bool) int64 {
	e := fdGet(fd)
	if e == nil || (e.kind != fdBlock && e.kind != fdNet) {
		if at && e != nil {
			return -_ESPIPE
		}
		return -_EBADF
	}
	return devWrite(e, buf, n, off, at)
}

func sysRead(fd int, buf, n uintptr) int64 {
	if fd == 0 {
		return 0
	}
	if fd >= 0 && fd < maxFDs && fds[fd].kind == fdEventfd {
		if n < 8 {
			return -_EINVAL
		}
		if fds[fd].count == 0 {
			return -_EAGAIN
		}
		if !putU64(buf, fds[fd].count) {
			return -_EFAULT
		}
		fds[fd].count = 0
		return 8
	}
	return sysPread(fd, buf, n, 0, false)
}

const (
	_PROT_READ      = 1
	_PROT_WRITE     = 2
	_MAP_FIXED      = 0x10
	_MAP_ANONYMOUS  = 0x20
	_MAP_NORESERVE  = 0x4000
	_MADV_DONTNEED  = 4
	_MADV_FREE      = 8
	_MADV_REMOVE    = 9
	_ARCH_SET_FS    = 0x1002
	_ARCH_GET_FS    = 0x1003
	_FUTEX_WAIT     = 0
	_FUTEX_WAKE     = 1
	_CLONE_SETTLS   = 0x80000
	_CLONE_THREAD   = 0x10000
	_CLOCK_REALTIME = 0
)

func sysMmap(addr, length uintptr, prot, flags uint32, fd int32) int64 {
	if flags&_MAP_ANONYMOUS == 0 {
		return -_EBADF
	}
	if length == 0 || length > userMax {
		return -_EINVAL
	}
	n := (length + pageSize - 1) &^ (pageSize - 1)
	if addr&(pageSize-1) != 0 {
		if flags&_MAP_FIXED != 0 {
			return -_EINVAL
		}
		addr = 0
	}
	usable := func(a uintptr) bool { return a >= userMin && a+n > a && a+n <= userMax }
	switch {
	case flags&_MAP_FIXED != 0:
		if !usable(addr) {
			return -_ENOMEM
		}
		release(addr, addr+n) // MAP_FIXED replaces: the new pages read as zero
	case addr != 0 && usable(addr) && !overlaps(addr, addr+n):
	default:
		// Top-down below the last placement, skipping mappings.
		a := (mmapTop - n) &^ (pageSize - 1)
		for a >= userMin && overlaps(a, a+n) {
			a -= 1 << 30
		}
		if a < userMin {
			return -_ENOMEM
		}
		mmapTop = a
		addr = a
	}
	if !vmaAdd(addr, addr+n, prot&(_PROT_READ|_PROT_WRITE)) {
		return -_ENOMEM
	}
	return int64(addr)
}

func sysMunmap(addr, length uintptr) int64 {
	if addr&(pageSize-1) != 0 || length == 0 {
		return -_EINVAL
	}
	n := (length + pageSize - 1) &^ (pageSize - 1)
	if addr < userMin || addr+n > userMax {
		return -_EINVAL
	}
	release(addr, addr+n)
	if !vmaRemove(addr, addr+n) {
		return -_ENOMEM
	}
	return 0
}

func sysMadvise(addr, length uintptr, advice int) int64 {
	switch advice {
	case _MADV_DONTNEED, _MADV_FREE, _MADV_REMOVE:
		// Really drop the pages: the runtime assumes they read as zero
		// afterwards (GODEBUG madvdontneed=1, the default).
		if addr&(pageSize-1) != 0 {
			return -_EINVAL
		}
		n := (length + pageSize - 1) &^ (pageSize - 1)
		if addr >= userMin && addr+n <= userMax {
			release(addr, addr+n)
		}
	}
	return 0
}

func sysMincore(length, vec uintptr) int64 {
	var ones [64]byte
	for i := range ones {
		ones[i] = 1
	}
	pages := (length + pageSize - 1) / pageSize
	for pages > 0 {
		c := min(pages, 64)
		if !copyOut(vec, unsafe.Pointer(&ones), c) {
			return -_EFAULT
		}
		vec += c
		pages -= c
	}
	return 0
}

func sysArchPrctl(t *thread, code, addr uintptr) int64 {
	switch code {
	case _ARCH_SET_FS:
		t.fsbase = uint64(addr)
		return 0
	case _ARCH_GET_FS:
		if !putU64(addr, t.fsbase) {
			return -_EFAULT
		}
		return 0
	}
	return -_EINVAL
}

// sysClone starts a thread that resumes after the SYSCALL with RAX = 0 on
// its new stack; every other register is the parent's (the Go runtime
// passes m, g and fn in R13, R9 and R12).
func sysClone(f *frame, flags, stack, tls uintptr) int64 {
	if flags&_CLONE_THREAD == 0 {
		return -_ENOSYS // no processes, only threads
	}
	i := newThread()
	if i < 0 {
		return -_EAGAIN
	}
	c := &threads[i]
	c.regs = *f
	c.regs.RAX = 0
	c.regs.RSP = uint64(stack)
	c.fx = *fxArea()
	c.sigmask = threads[cur].sigmask // inherited, like Linux
	c.fsbase = threads[cur].fsbase
	if flags&_CLONE_SETTLS != 0 {
		c.fsbase = uint64(tls)
	}
	return int64(c.tid)
}

func sysNanosleep(f *frame, t *thread, req uintptr) int64 {
	var ts [2]int64
	if !copyIn(unsafe.Pointer(&ts), req, 16) {
		return -_EFAULT
	}
	d := ts[0]*1_000_000_000 + ts[1]
	if d <= 0 {
		return 0
	}
	f.RAX = 0
	block(f, t, waitSleep, now()+d)
	return 1
}

// sysFutex implements FUTEX_WAIT and FUTEX_WAKE (private or not, the
// guest has one address space). It returns 1<<62 when the thread blocked.
func sysFutex(f *frame, t *thread, addr uintptr, op int, val uint32, timeout uintptr) int64 {
	switch op & 0x7f {
	case _FUTEX_WAIT:
		v, ok := getU32(addr)
		if !ok {
			return -_EFAULT
		}
		if v != val {
			return -_EAGAIN
		}
		var deadline int64
		if timeout != 0 {
			var ts [2]int64
			if !copyIn(unsafe.Pointer(&ts), timeout, 16) {
				return -_EFAULT
			}
			deadline = now() + ts[0]*1_000_000_000 + ts[1]
		}
		t.waitAddr = addr
		f.RAX = 0
		block(f, t, waitFutex, deadline)
		return 1 << 62
	case _FUTEX_WAKE:
		n := int64(0)
		for i := range threads {
			w := &threads[i]
			if n < int64(val) && w.state == tBlocked && w.wait == waitFutex && w.waitAddr == addr {
				wake(i, 0)
				n++
			}
		}
		return n
	}
	return -_ENOSYS
}

func sysClockGettime(clock int, ts uintptr) int64 {
	n := uint64(now())
	if clock == _CLOCK_REALTIME {
		n += tp().wall0
	}
	v := [2]uint64{n / 1_000_000_000, n % 1_000_000_000}
	if !copyOut(ts, unsafe.Pointer(&v), 16) {
		return -_EFAULT
	}
	return 0
}

func sysGettimeofday(tv uintptr) int64 {
	if tv == 0 {
		return 0
	}
	n := uint64(now()) + tp().wall0
	v := [2]uint64{n / 1_000_000_000, n % 1_000_000_000 / 1000}
	if !copyOut(tv, unsafe.Pointer(&v), 16) {
		return -_EFAULT
	}
	return 0
}

var randChecked, hasRDRAND, hasRDSEED bool

// random returns 64 random bits from RDSEED or RDRAND (retrying as Intel
// advises), or TSC jitter as a last resort on a CPU without either.
func random() uint64 {
	if !randChecked {
		_, _, c, _ := cpuid(1, 0)
		_, b, _, _ := cpuid(7, 0)
		hasRDRAND, hasRDSEED, randChecked = c&(1<<30) != 0, b&(1<<18) != 0, true
	}
	for i := 0; i < 10 && hasRDRAND; i++ {
		if v, ok := rdrand(); ok {
			return v
		}
	}
	for i := 0; i < 10 && hasRDSEED; i++ {
		if v, ok := rdseed(); ok {
			return v
		}
	}
	return rdtsc() * 0x9e3779b97f4a7c15
}

func sysGetrandom(buf, n uintptr) int64 {
	n = min(n, 1<<25)
	for done := uintptr(0); done < n; done += 8 {
		v := random()
		if !copyOut(buf+done, unsafe.Pointer(&v), min(8, n-done)) {
			return -_EFAULT
		}
	}
	return int64(n)
}
