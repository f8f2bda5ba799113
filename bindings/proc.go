//go:build linux

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/bindings/internal/socktab"
	"github.com/unimon/unimon/guestabi"
)

// The program's initial stack, as Linux builds it for a static
// executable: argc, argv, envp, auxv, with the strings above.
const (
	stackTop  = 0x7fff_ff00_0000
	stackSize = 8 << 20

	_AT_NULL         = 0
	_AT_PAGESZ       = 6
	_AT_HWCAP        = 16
	_AT_RANDOM       = 25
	_AT_SYSINFO_EHDR = 33
)

// The argument and environment strings are assembled here before being
// copied to the stack: strBuf holds the argv strings, envBuf the envp
// strings (--unimon:env, then the bindings' own), each followed by a 0.
var (
	strBuf  [16384]byte
	strLen  uintptr
	strOffs [256]uintptr
	nargv   int
	envBuf  [16384]byte
	envLen  uintptr
	envOffs [256]uintptr
	nenvp   int
)

// appendString adds s and a 0 to buf (used *l bytes), its offset to
// offs (*n of them).
func appendString(buf []byte, l *uintptr, offs []uintptr, n *int, s []byte) bool {
	if *l+uintptr(len(s))+1 > uintptr(len(buf)) || *n >= len(offs) {
		return false
	}
	offs[*n] = *l
	copy(buf[*l:], s)
	*l += uintptr(len(s))
	buf[*l] = 0
	*l++
	*n++
	return true
}

func addString(s []byte) bool { return appendString(strBuf[:], &strLen, strOffs[:], &nargv, s) }

func addStr(s string) bool { return addString(unsafe.Slice(unsafe.StringData(s), len(s))) }

// envKey returns the KEY of a KEY=VALUE string.
func envKey(kv []byte) []byte {
	for i, c := range kv {
		if c == '=' {
			return kv[:i]
		}
	}
	return kv
}

// addEnv adds KEY=VALUE to the environment unless KEY is there already
// (the first setting wins: --unimon:env comes before the bindings' own
// defaults, which a user may so override).
func addEnv(kv []byte) bool {
	k := envKey(kv)
	for i := 0; i < nenvp; i++ {
		e := envBuf[envOffs[i]:]
		if len(e) > len(k) && string(e[:len(k)]) == string(k) && e[len(k)] == '=' {
			return true
		}
	}
	return appendString(envBuf[:], &envLen, envOffs[:], &nenvp, kv)
}

func addEnvStr(s string) bool { return addEnv(unsafe.Slice(unsafe.StringData(s), len(s))) }

// parseOptions splits the command line into argv and the bindings'
// options (options.go).
func parseOptions() {
	// argv: a program name, then the command line after Solo5's own
	// --solo5: options and the bindings' --unimon: ones, split on
	// spaces (the monitor joins with spaces).
	addStr("unikernel")
	if bootInfo.Cmdline != 0 {
		cl := (*[guestabi.CmdlineSize]byte)(ptr(uintptr(bootInfo.Cmdline)))
		n := 0
		for n < len(cl)-1 && cl[n] != 0 {
			n++
		}
		opts := true
		for i := 0; i < n; {
			for i < n && cl[i] == ' ' {
				i++
			}
			j := i
			for j < n && cl[j] != ' ' {
				j++
			}
			if j > i {
				w := cl[i:j]
				switch {
				case opts && len(w) > 8 && string(w[:8]) == "--solo5:":
				case opts && len(w) >= len(optionPrefix) && string(w[:len(optionPrefix)]) == optionPrefix:
					parseOption(w)
				default:
					opts = false
					addString(w)
				}
			}
			i = j
		}
	}
}

func initProcess() {
	// envp: what --unimon:env set, then no prctl names for mappings and
	// a memory limit from what the guest really has (unless set).
	// Asynchronous preemption stays on: SIGURG is delivered (signal.go).
	addEnvStr("GODEBUG=decoratemappings=0")
	var num [40]byte
	limit := uint64(frameEnd-frameNext) / 10 * 8
	k := copy(num[:], "GOMEMLIMIT=")
	k += utoa(num[k:], limit)
	addEnv(num[:k])

	if !vmaAdd(stackTop-stackSize, stackTop, _PROT_READ|_PROT_WRITE) {
		outOfMemory()
	}
	// Strings at the top (argv's, then envp's), 16 random bytes for
	// AT_RANDOM below them, then the vector, 16-byte aligned at argc.
	envs := (stackTop - envLen - 64) &^ 15
	copyOut(envs, unsafe.Pointer(&envBuf), envLen)
	strs := (envs - strLen) &^ 15
	copyOut(strs, unsafe.Pointer(&strBuf), strLen)
	rnd := strs - 16
	r := [2]uint64{random(), random()}
	copyOut(rnd, unsafe.Pointer(&r), 16)
	auxv := [...]uint64{
		_AT_PAGESZ, pageSize,
		_AT_HWCAP, cpuHWCap(),
		_AT_RANDOM, uint64(rnd),
		_AT_SYSINFO_EHDR, vdsoImage,
		_AT_NULL, 0,
	}
	words := 1 + nargv + 1 + nenvp + 1 + len(auxv)
	sp := (rnd - uintptr(8*words)) &^ 15
	p := sp
	put := func(v uint64) { putU64(p, v); p += 8 }
	put(uint64(nargv))
	for i := 0; i < nargv; i++ {
		put(uint64(strs + strOffs[i]))
	}
	put(0)
	for i := 0; i < nenvp; i++ {
		put(uint64(envs + envOffs[i]))
	}
	put(0)
	// The vector, and /proc/self/auxv (genfile.go) with the same words.
	proc := &socktab.Files[socktab.FileAuxv]
	for i, v := range auxv {
		put(v)
		for b := range 8 {
			proc.Data[8*i+b] = byte(v >> (8 * b))
		}
	}
	proc.Len.Store(uint32(8 * len(auxv)))

	i := newThread()
	t := &threads[i]
	cur = i
	t.since = now()
	t.tls = scratchTLS // kentry needs a TLS g slot even before arch_prctl
	f := curFrame()
	cpuInitFrame(f, goEntry(), sp)
}

// utoa formats v in decimal into b and returns the length.
func utoa(b []byte, v uint64) int {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return copy(b, tmp[i:])
}

// hex formats v as 0x and 16 digits.
func hex(b []byte, v uint64) int {
	const digits = "0123456789abcdef"
	b[0], b[1] = '0', 'x'
	for i := 0; i < 16; i++ {
		b[2+i] = digits[v>>(60-4*i)&15]
	}
	return 18
}

// Resource limits (prlimit64, getrlimit): the stack and fd limits are
// what the kernel really has, as Linux's defaults say them; the others
// are unlimited. Setting a limit succeeds and changes nothing.
const (
	_RLIMIT_STACK  = 3
	_RLIMIT_NOFILE = 7
	_RLIM_INFINITY = ^uint64(0)
)

func rlimit(resource uintptr) [2]uint64 {
	switch resource {
	case _RLIMIT_STACK:
		return [2]uint64{stackSize, _RLIM_INFINITY}
	case _RLIMIT_NOFILE:
		return [2]uint64{maxFDs, maxFDs}
	}
	return [2]uint64{_RLIM_INFINITY, _RLIM_INFINITY}
}

func sysPrlimit64(t *thread, a sysArgs) (int64, sysResult) {
	if a[0] != 0 && a[0] != 1 {
		return done(-_ESRCH)
	}
	if a[1] > 15 {
		return done(-_EINVAL)
	}
	if a[3] != 0 {
		old := rlimit(a[1])
		if !copyOut(a[3], unsafe.Pointer(&old), 16) {
			return done(-_EFAULT)
		}
	}
	return done(0)
}

func sysGetrlimit(t *thread, a sysArgs) (int64, sysResult) {
	return sysPrlimit64(t, sysArgs{0, a[0], 0, a[1]})
}
