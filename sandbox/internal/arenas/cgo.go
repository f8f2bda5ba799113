//go:build cgo && linux

package arenas

/*
#include <malloc.h>
*/
import "C"

import "runtime"

// Cgo says new threads come from glibc's pthread_create, whose malloc
// arenas Cap fixes.
const Cgo = true

// Cap fixes the number of glibc malloc arenas before the filter is
// in place. In a cgo binary every new thread frees (and so first uses)
// malloc memory before the Go runtime unblocks its signals; once glibc
// has 8 arenas it counts the CPUs for the limit, by opening
// /sys/devices/system/cpu/online. Under the filter that openat raises a
// SIGSYS the thread has blocked, and the kernel kills the process without
// the handler's line: a CLI that needed a ninth thread after LockDown
// (heavy load, stdout blocked) died that way. With M_ARENA_MAX set glibc
// takes the limit as given. The value is glibc's own default, 8 per CPU.
// (musl's mallopt does nothing, and musl needs nothing: it has no arenas.)
func Cap() {
	C.mallopt(C.M_ARENA_MAX, C.int(8*runtime.NumCPU()))
}
