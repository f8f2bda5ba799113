//go:build linux

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// The program's initial stack, as Linux builds it for a static
// executable: argc, argv, envp, auxv, with the strings above.
const (
	stackTop  = 0x7fff_ff00_0000
	stackSize = 8 << 20

	_AT_NULL         = 0
	_AT_PAGESZ       = 6
	_AT_RANDOM       = 25
	_AT_SYSINFO_EHDR = 33
)

// argument strings are assembled here before being copied to the stack.
var (
	strBuf  [16384]byte
	strLen  uintptr
	strOffs [256]uintptr
	nargv   int
	nenvp   int
)

func addString(s []byte) bool {
	if strLen+uintptr(len(s))+1 > uintptr(len(strBuf)) || nargv+nenvp >= len(strOffs) {
		return false
	}
	strOffs[nargv+nenvp] = strLen
	copy(strBuf[strLen:], s)
	strLen += uintptr(len(s))
	strBuf[strLen] = 0
	strLen++
	return true
}

func addStr(s string) bool { return addString(unsafe.Slice(unsafe.StringData(s), len(s))) }

// parseOptions splits the command line into argv.
func parseOptions() {
	// argv: a program name, then the command line after Solo5's own
	// --solo5: options, split on spaces (the monitor joins with spaces).
	addStr("unikernel")
	nargv = 1
	if bootInfo.Cmdline != 0 {
		cl := (*[guestabi.CmdlineSize]byte)(ptr(uintptr(bootInfo.Cmdline)))
		n := 0
		for n < len(cl)-1 && cl[n] != 0 {
			n++
		}
		solo5 := true
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
				if solo5 && len(w) > 8 && string(w[:8]) == "--solo5:" {
					i = j
					continue
				}
				// The bindings' own options come next: --unimon:stats
				// prints trap counts at exit, --unimon:notimer runs
				// cooperatively even with an irqchip.
				if solo5 && string(w) == "--unimon:stats" {
					showStats = true
					i = j
					continue
				}
				if solo5 && string(w) == "--unimon:notimer" {
					noTimer = true
					i = j
					continue
				}
				solo5 = false
				if addString(w) {
					nargv++
				}
			}
			i = j
		}
	}
}

func initProcess() {
	// envp: no prctl names for mappings, and a memory limit from what the
	// guest really has. Asynchronous preemption stays on: SIGURG is
	// delivered (signal.go).
	addStr("GODEBUG=decoratemappings=0")
	nenvp = 1
	var num [40]byte
	limit := uint64(frameEnd-frameNext) / 10 * 8
	s := "GOMEMLIMIT="
	k := copy(num[:], s)
	k += utoa(num[k:], limit)
	if addString(num[:k]) {
		nenvp++
	}

	if !vmaAdd(stackTop-stackSize, stackTop, _PROT_READ|_PROT_WRITE) {
		outOfMemory()
	}
	// Strings at the top, 16 random bytes for AT_RANDOM below them, then
	// the vector, 16-byte aligned at argc.
	strs := (stackTop - strLen - 64) &^ 15
	copyOut(strs, unsafe.Pointer(&strBuf), strLen)
	rnd := strs - 16
	r := [2]uint64{random(), random()}
	copyOut(rnd, unsafe.Pointer(&r), 16)
	words := 1 + nargv + 1 + nenvp + 1 + 2*4
	sp := (rnd - uintptr(8*words)) &^ 15
	p := sp
	put := func(v uint64) { putU64(p, v); p += 8 }
	put(uint64(nargv))
	for i := 0; i < nargv; i++ {
		put(uint64(strs + strOffs[i]))
	}
	put(0)
	for i := 0; i < nenvp; i++ {
		put(uint64(strs + strOffs[nargv+i]))
	}
	put(0)
	put(_AT_PAGESZ)
	put(pageSize)
	put(_AT_RANDOM)
	put(uint64(rnd))
	put(_AT_SYSINFO_EHDR)
	put(vdsoImage)
	put(_AT_NULL)
	put(0)

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
