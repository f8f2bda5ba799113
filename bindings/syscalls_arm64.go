//go:build linux && arm64

package bindings

// sysTable is the system call table by Linux arm64 (asm-generic)
// number: the calls the Go runtime and the os, time and syscall packages
// make. Everything else is ENOSYS.
var sysTable = [...]sysFn{
	17:  sysGetcwd,
	19:  sysEventfd2,
	20:  sysEpollCreate1,
	21:  sysEpollCtl,
	22:  sysEpollWait, // epoll_pwait: the signal mask argument is ignored
	23:  sysDup,
	24:  sysDup3,
	25:  sysFcntl,
	34:  sysMkdirat,
	35:  sysUnlinkat,
	36:  sysSymlinkat,
	37:  sysLinkat,
	38:  sysRenameat,
	46:  sysFtruncate,
	48:  sysFaccessat,
	49:  sysChdir,
	50:  sysFchdir,
	52:  sysFchmod,
	53:  sysFchmodat,
	56:  sysOpenat,
	57:  sysClose,
	59:  sysPipe2,
	61:  sysGetdents64,
	62:  sysLseek,
	63:  sysRead,
	64:  sysWrite,
	65:  sysReadv,
	66:  sysWritev,
	67:  sysPread64,
	68:  sysPwrite64,
	71:  sysSendfile,
	76:  sysSplice,
	78:  sysReadlinkat,
	79:  sysNewfstatat,
	80:  sysFstat,
	82:  sysFsync,
	83:  sysFsync, // fdatasync
	88:  sysUtimensat,
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
	160: sysUname,
	163: sysGetrlimit,
	164: sysZero, // setrlimit: see sysPrlimit64
	167: sysZero, // prctl
	169: sysGettimeofday,
	172: sysGetpid,
	174: sysZero, // getuid
	175: sysZero, // geteuid
	176: sysZero, // getgid
	177: sysZero, // getegid
	178: sysGettid,
	198: sysSocket,
	199: sysSocketpair,
	200: sysBind,
	201: sysListen,
	203: sysConnect,
	204: sysGetsockname,
	205: sysGetpeername,
	206: sysSendto,
	207: sysRecvfrom,
	208: sysSetsockopt,
	209: sysGetsockopt,
	210: sysShutdown,
	211: sysSendmsg,
	212: sysRecvmsg,
	215: sysMunmap,
	220: sysCloneARM64,
	222: sysMmap,
	226: sysMprotect,
	232: sysMincore,
	233: sysMadvise,
	242: sysAccept4,
	243: sysRecvmmsg,
	261: sysPrlimit64,
	269: sysSendmmsg,
	276: sysRenameat2,
	278: sysGetrandom,
	439: sysFaccessat, // faccessat2
}

// sysCloneARM64 is clone with arm64's argument order (flags, stack,
// parent_tid, tls, child_tid).
func sysCloneARM64(t *thread, a sysArgs) (int64, sysResult) {
	return done(clone(t, a[0], a[1], a[3]))
}

// unameMachine is uname's machine field.
const unameMachine = "aarch64"
