package gobuild

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
)

// CheckLoadable applies the monitor's loader, which implements upstream
// solo5-hvt's ELF rules, to img for the largest guest: the header, the
// ABI1 and MFT1 notes (a valid manifest, each device name declared
// once), the entry point and every PT_LOAD. It is the
// build's self-check: what `unimon build` writes, unimon and solo5-hvt
// load.
func CheckLoadable(img []byte) error {
	r := bytes.NewReader(img)
	if _, _, err := elfload.Notes(r, elf.EM_X86_64); err != nil {
		return fmt.Errorf("%w: %w", ErrNotLoadable, err)
	}
	if _, err := elfload.Check(r, elf.EM_X86_64, guestmem.MaxSize); err != nil {
		return fmt.Errorf("%w: %w", ErrNotLoadable, err)
	}
	return nil
}
