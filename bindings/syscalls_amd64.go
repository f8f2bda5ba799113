//go:build linux && amd64

package bindings

// sysTable is the system call table by Linux x86_64 number: the calls
// the Go runtime and the os, time and syscall packages make. Everything
// else is ENOSYS. See syscall.go for the handlers' convention.
var sysTable = [...]sysFn{
	0:   sysRead,
	1:   sysWrite,
	3:   sysClose,
	5:   sysFstat,
	8:   sysLseek,
	9:   sysMmap,
	10:  sysMprotect,
	11:  sysMunmap,
	13:  sysRtSigaction,
	14:  sysRtSigprocmask,
	15:  sysRtSigreturn,
	17:  sysPread64,
	18:  sysPwrite64,
	19:  sysReadv,
	20:  sysWritev,
	24:  sysSchedYield,
	27:  sysMincore,
	28:  sysMadvise,
	32:  sysDup,
	33:  sysDup2,
	35:  sysNanosleep,
	39:  sysGetpid,
	40:  sysSendfile,
	41:  sysSocket,
	42:  sysConnect,
	44:  sysSendto,
	45:  sysRecvfrom,
	46:  sysSendmsg,
	47:  sysRecvmsg,
	48:  sysShutdown,
	49:  sysBind,
	50:  sysListen,
	51:  sysGetsockname,
	52:  sysGetpeername,
	53:  sysSocketpair,
	54:  sysSetsockopt,
	55:  sysGetsockopt,
	56:  sysCloneAMD64,
	60:  sysExit,
	63:  sysUname,
	72:  sysFcntl,
	74:  sysFsync,
	75:  sysFsync, // fdatasync
	77:  sysFtruncate,
	79:  sysGetcwd,
	80:  sysChdir,
	81:  sysFchdir,
	90:  sysChmod,
	96:  sysGettimeofday,
	97:  sysGetrlimit,
	160: sysZero, // setrlimit: see sysPrlimit64
	102: sysZero, // getuid
	104: sysZero, // getgid
	107: sysZero, // geteuid
	108: sysZero, // getegid
	91:  sysFchmod,
	131: sysSigaltstack,
	157: sysZero, // prctl
	158: sysArchPrctl,
	186: sysGettid,
	200: sysTkill,
	202: sysFutex,
	204: sysSchedGetaffinity,
	217: sysGetdents64,
	228: sysClockGettime, // the vDSO normally answers
	231: sysExitGroup,
	232: sysEpollWait,
	233: sysEpollCtl,
	234: sysTgkill,
	257: sysOpenat,
	258: sysMkdirat,
	262: sysNewfstatat,
	263: sysUnlinkat,
	264: sysRenameat,
	265: sysLinkat,
	266: sysSymlinkat,
	267: sysReadlinkat,
	268: sysFchmodat,
	269: sysFaccessat,
	275: sysSplice,
	280: sysUtimensat,
	281: sysEpollWait, // epoll_pwait: the signal mask argument is ignored
	288: sysAccept4,
	290: sysEventfd2,
	291: sysEpollCreate1,
	292: sysDup3,
	293: sysPipe2,
	299: sysRecvmmsg,
	302: sysPrlimit64,
	307: sysSendmmsg,
	316: sysRenameat2,
	318: sysGetrandom,
	439: sysFaccessat, // faccessat2
}

// sysCloneAMD64 is clone with x86_64's argument order (flags, stack,
// parent_tid, child_tid, tls).
func sysCloneAMD64(t *thread, a sysArgs) (int64, sysResult) {
	return done(clone(t, a[0], a[1], a[4]))
}

const (
	_ARCH_SET_FS = 0x1002
	_ARCH_GET_FS = 0x1003
)

// sysArchPrctl sets and gets the thread's FS base (its TLS).
func sysArchPrctl(t *thread, a sysArgs) (int64, sysResult) {
	switch a[0] {
	case _ARCH_SET_FS:
		t.tls = uint64(a[1])
		return done(0)
	case _ARCH_GET_FS:
		if !putU64(a[1], t.tls) {
			return done(-_EFAULT)
		}
		return done(0)
	}
	return done(-_EINVAL)
}

// unameMachine is uname's machine field.
const unameMachine = "x86_64"
