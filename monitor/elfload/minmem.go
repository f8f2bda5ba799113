package elfload

import (
	"io"

	"github.com/unimon/unimon/monitor/guestmem"
)

// MinMemory returns the smallest guest memory, in bytes, that Load
// accepts for the unikernel in r: one byte more than the highest of e_entry
// and the end of its segments (Load refuses a segment that reaches the
// top of memory). Callers round it up to the memory granule they use. The
// file must pass Check for the largest guest memory; if it does not, that
// error is returned, since no memory size would do.
//
// It lets a monitor say "needs at least N MiB" instead of reporting the
// segment that does not fit.
func MinMemory(r io.ReaderAt, machine Machine) (uint64, error) {
	f, err := Parse(r, machine)
	if err != nil {
		return 0, err
	}
	return f.MinMemory()
}

// MinMemory is the package's MinMemory for a parsed file.
func (f *File) MinMemory() (uint64, error) {
	img, err := f.Check(guestmem.MaxSize)
	if err != nil {
		return 0, err
	}
	return max(img.Entry, img.KernelEnd) + 1, nil
}
