package guestmem

import "golang.org/x/sys/unix"

// releasePages hands whole pages of the private mapping back to the
// host; they read as zero afterwards.
func releasePages(b []byte) error { return unix.Madvise(b, unix.MADV_DONTNEED) }

// adviseHugePages asks for transparent huge pages over b.
func adviseHugePages(b []byte) error { return unix.Madvise(b, unix.MADV_HUGEPAGE) }

// populatePages backs b with memory now, as writes would
// (MADV_POPULATE_WRITE, Linux 5.14 and later).
func populatePages(b []byte) error { return unix.Madvise(b, unix.MADV_POPULATE_WRITE) }
