package monitor

import (
	"fmt"

	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
)

// MemoryError is New's error when Config.Memory is too small for the
// unikernel's segments. It wraps ErrConfig.
type MemoryError struct {
	Kernel string // the Config's Kernel, or "unikernel" for a KernelImage
	Size   uint64 // the guest memory asked for, in bytes
	Need   uint64 // the least guest memory that holds the unikernel, in bytes (a multiple of 2 MiB)
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("%v: %s needs at least %d MiB of guest memory, %d MiB given",
		ErrConfig, e.Kernel, e.Need/guestmem.MiB, e.Size/guestmem.MiB)
}

// Unwrap returns ErrConfig.
func (e *MemoryError) Unwrap() error { return ErrConfig }

// checkMemory reports a *MemoryError when f does not fit in size bytes
// of guest memory. An image that fits in no memory is left for the loader
// to describe.
func checkMemory(f *elfload.File, size uint64, name string) error {
	need, err := f.MinMemory()
	if err != nil || need <= size {
		return nil
	}
	need = (need + guestmem.Granule - 1) &^ (guestmem.Granule - 1)
	return &MemoryError{Kernel: name, Size: size, Need: need}
}
