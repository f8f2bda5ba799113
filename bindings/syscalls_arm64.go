//go:build linux && arm64

package bindings

// sysTable is the system call table by Linux arm64 (asm-generic)
// number: the calls the Go runtime and the os, time and syscall packages
// make. Everything else is ENOSYS.
var sysTable = [...]sysFn{
	19:  sysEventfd2,
	20:  sysEpollCreate1,
	21:  sysEpollCtl,
	22:  sysEpollWait, // epoll_pwait: the signal mask argument is ignored
	25:  sysFcntl,
	56:  sysOpenat,
	57:  sysClose,
	62:  sysLseek,
	63:  sysRead,
	64:  sysWrite,
	67:  sysPread64,
	68:  sysPwrite64,
	80:  sysFstat,
	93:  sysExit,
	94:  sysExitGroup,
	98:  sysFutex,
	101: sysNanosleep,
	113: sysClockGettime,
	123: sysSchedGetaffinity,
	124: sysSchedYield,
	130: sysTkill,
	131: sysTgkill,
	132: sysSigaltstack,
	134: sysRtSigaction,
	135: sysRtSigprocmask,
	139: sysRtSigreturn,
	167: sysZero, // prctl
	169: sysGettimeofday,
	172: sysGetpid,
	174: sysZero, // getuid
	175: sysZero, // geteuid
	176: sysZero, // getgid
	177: sysZero, // getegid
	178: sysGettid,
	215: sysMunmap,
	220: sysCloneARM64,
	222: sysMmap,
	226: sysZero, // mprotect: the program's pages are read-write
	232: sysMincore,
	233: sysMadvise,
	278: sysGetrandom,
}

// sysCloneARM64 is clone with arm64's argument order (flags, stack,
// parent_tid, tls, child_tid).
func sysCloneARM64(t *thread, a sysArgs) (int64, sysResult) {
	return done(clone(t, a[0], a[1], a[3]))
}
