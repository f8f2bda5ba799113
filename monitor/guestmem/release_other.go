//go:build !linux

package guestmem

import "errors"

// releasePages has no MADV_DONTNEED with Linux's zeroing outside Linux;
// Zero then writes the zeroes itself. (No VM runs there, but the
// loader's checks do.)
func releasePages(b []byte) error { return errors.ErrUnsupported }

// adviseHugePages: transparent huge pages are Linux's.
func adviseHugePages(b []byte) error { return nil }

// populatePages: nothing to win where no VM runs.
func populatePages(b []byte) error { return errors.ErrUnsupported }

// residentPages: mincore is asked on Linux only.
func residentPages(b, vec []byte) error { return errors.ErrUnsupported }
