//go:build !unimon_nodebug

package monitor

import (
	"errors"
	"fmt"

	"github.com/unimon/unimon/monitor/coredump"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Signals a core file names as the reason the guest stopped.
const (
	sigAbort = 6  // SIGABRT: HALT with status 255, Solo5's abort
	sigSegv  = 11 // SIGSEGV: a fault that ended the guest
)

// checkDebug refuses debugging options that could not work, before any
// guest runs.
func checkDebug(cfg Config) error {
	if cfg.DumpCore != "" {
		if err := coredump.CheckDir(cfg.DumpCore); err != nil {
			return fmt.Errorf("%w: DumpCore: %w", ErrConfig, err)
		}
	}
	if cfg.GDB != nil {
		if err := checkGDBArch(); err != nil {
			return err
		}
	}
	return nil
}

// CoreFile returns the path of the core file Run left in Config.DumpCore
// ("" when the guest did not abort or fault, or no directory was given),
// and the error that stopped writing it, if any (the file may then be
// incomplete).
func (vm *VM) CoreFile() (string, error) { return vm.coreFile, vm.coreErr }

// dumpCore writes a core file when the guest aborted or faulted and a
// directory was given; it never changes how Run ends.
func (vm *VM) dumpCore(status int, halted bool, runErr error) {
	if vm.dumpDir == "" {
		return
	}
	var sig int
	switch {
	case halted && status == 255:
		sig = sigAbort
	case !halted && errors.Is(runErr, ErrGuest):
		sig = sigSegv
	default:
		return
	}
	core, err := vm.coreImage(sig, halted)
	if err != nil {
		vm.coreErr = fmt.Errorf("core dump: %w", err)
		return
	}
	f, err := coredump.Create(vm.dumpDir)
	if err != nil {
		vm.coreErr = fmt.Errorf("core dump: %w", err)
		return
	}
	vm.coreFile = f.Name()
	_, err = coredump.Write(f, core)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		vm.coreErr = fmt.Errorf("core dump %s: %w", vm.coreFile, err)
	}
}

// segments is the memory of a core: the runs a walk of the guest's page
// tables found or, when it found none (translation off, tables
// unreadable), guest-physical memory at its own addresses, as upstream
// dumps it.
func (vm *VM) segments(maps []guestmem.Mapping) []coredump.Segment {
	if len(maps) == 0 {
		maps = []guestmem.Mapping{{VA: 0, PA: 0, Size: vm.mem.Size(), Writable: true}}
	}
	var segs []coredump.Segment
	for _, m := range maps {
		data, err := vm.mem.Bytes(m.PA, m.Size)
		if err != nil {
			// Only a run that ends at the very top of memory, which the
			// checked accessor leaves out by one byte.
			if data, err = vm.mem.Bytes(m.PA, m.Size-1); err != nil {
				continue
			}
		}
		segs = append(segs, coredump.Segment{VA: m.VA, Data: data, Writable: m.Writable})
	}
	return segs
}
