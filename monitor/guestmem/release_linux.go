package guestmem

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// releasePages hands whole pages of the private mapping back to the
// host; they read as zero afterwards.
func releasePages(b []byte) error { return unix.Madvise(b, unix.MADV_DONTNEED) }

// adviseHugePages asks for transparent huge pages over b.
func adviseHugePages(b []byte) error { return unix.Madvise(b, unix.MADV_HUGEPAGE) }

// populatePages backs b with memory now, as writes would
// (MADV_POPULATE_WRITE, Linux 5.14 and later).
func populatePages(b []byte) error { return unix.Madvise(b, unix.MADV_POPULATE_WRITE) }

// residentPages has mincore fill vec, a byte per page of b (x/sys/unix
// has no wrapper for it).
func residentPages(b, vec []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return errno
	}
	return nil
}
