package gobuild

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
)

// CheckLoadable applies the monitor's loader (for the image's
// architecture, x86_64 or aarch64), which implements upstream
// solo5-hvt's ELF rules, to img for the largest guest: the header, the
// ABI1 and MFT1 notes (a valid manifest, each device name declared
// once), the entry point and every PT_LOAD. It is the
// build's self-check: what `unimon build` writes, unimon and solo5-hvt
// load.
func CheckLoadable(img []byte) error {
	r := bytes.NewReader(img)
	machine := elfload.MachineX86_64
	if f, err := elf.NewFile(r); err == nil {
		if t, ok := targetOf(f.Machine); ok {
			machine = elfload.Machine(t.machine)
		}
	}
	if _, _, err := elfload.Notes(r, machine); err != nil {
		return fmt.Errorf("%w: %w", ErrNotLoadable, err)
	}
	if _, err := elfload.Check(r, machine, guestmem.MaxSize); err != nil {
		return fmt.Errorf("%w: %w", ErrNotLoadable, err)
	}
	return nil
}
