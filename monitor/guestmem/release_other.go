//go:build !linux

package guestmem

import "errors"

// releasePages has no MADV_REMOVE outside Linux; Zero then writes the
// zeroes itself. (No VM runs there, but the loader's checks do.)
func releasePages(b []byte) error { return errors.ErrUnsupported }
