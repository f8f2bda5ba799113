//go:build linux

package bindings

import (
	"math/bits"
	"unsafe"
)

// Time: monotonic = (cycles - tsc0) * scale >> 32 with scale = 1e9<<32 / Hz,
// wall = monotonic + the WALLTIME read at boot. The same three numbers sit
// at vdsoData, where vdsoClockGettime reads them without trapping.
type timeParams struct {
	tsc0, scale, wall0 uint64
}

func tp() *timeParams { return (*timeParams)(ptr(vdsoData)) }

func initTime() {
	p := tp()
	hz := freq
	if hz == 0 {
		hz = 1_000_000_000 // a monitor that does not know: better than dividing by 0
	}
	p.scale, _ = bits.Div64(1_000_000_000>>32, 1_000_000_000<<32, hz)
	p.tsc0 = cpuCycles()
	p.wall0 = walltime()
}

// now is monotonic nanoseconds since boot.
func now() int64 {
	p := tp()
	hi, lo := bits.Mul64(cpuCycles()-p.tsc0, p.scale)
	return int64(hi<<32 | lo>>32)
}

const _CLOCK_REALTIME = 0

func sysNanosleep(t *thread, a sysArgs) (int64, sysResult) {
	var ts [2]int64
	if !copyIn(unsafe.Pointer(&ts), a[0], 16) {
		return done(-_EFAULT)
	}
	d := ts[0]*1_000_000_000 + ts[1]
	if d <= 0 {
		return done(0)
	}
	park(t, waitSleep, now()+d)
	return 0, sysBlocked
}

func sysClockGettime(t *thread, a sysArgs) (int64, sysResult) {
	n := uint64(now())
	if a[0] == _CLOCK_REALTIME {
		n += tp().wall0
	}
	v := [2]uint64{n / 1_000_000_000, n % 1_000_000_000}
	if !copyOut(a[1], unsafe.Pointer(&v), 16) {
		return done(-_EFAULT)
	}
	return done(0)
}

func sysGettimeofday(t *thread, a sysArgs) (int64, sysResult) {
	if a[0] == 0 {
		return done(0)
	}
	n := uint64(now()) + tp().wall0
	v := [2]uint64{n / 1_000_000_000, n % 1_000_000_000 / 1000}
	if !copyOut(a[0], unsafe.Pointer(&v), 16) {
		return done(-_EFAULT)
	}
	return done(0)
}
