package monitor

import (
	"errors"
	"fmt"

	"github.com/unimon/unimon/monitor/coredump"
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
