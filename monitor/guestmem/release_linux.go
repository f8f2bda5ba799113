package guestmem

import "golang.org/x/sys/unix"

// releasePages hands whole pages of the private mapping back to the
// host; they read as zero afterwards.
func releasePages(b []byte) error { return unix.Madvise(b, unix.MADV_DONTNEED) }

// adviseHugePages asks for transparent huge pages over b.
func adviseHugePages(b []byte) error { return unix.Madvise(b, unix.MADV_HUGEPAGE) }
