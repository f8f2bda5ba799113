//go:build unimon_nodebug

package monitor

import (
	"context"
	"errors"
	"fmt"
)

// The lean build (tag unimon_nodebug) leaves out the debug modules, the
// gdb stub and core files, as upstream's solo5-hvt leaves them to
// solo5-hvt-debug: a tender that runs unikernels in production carries
// no debugger, and links neither package gdbstub nor package coredump.
// What is left of them here are the hooks Run calls, which do nothing.

// debugState is empty: nothing is ever debugged.
type debugState struct{}

// debugStop is never made: no exit belongs to a debugger.
type debugStop struct{}

func (*debugStop) Error() string { return "stopped for the debugger" }

// checkDebug refuses the options this build cannot honour.
func checkDebug(cfg Config) error {
	for _, opt := range []struct {
		name string
		set  bool
	}{{"DumpCore", cfg.DumpCore != ""}, {"GDB", cfg.GDB != nil}} {
		if opt.set {
			return fmt.Errorf("%w: %s: %w: this build leaves out the debug modules (tag unimon_nodebug)", ErrConfig, opt.name, errors.ErrUnsupported)
		}
	}
	return nil
}

func (vm *VM) initDebug(Config) {}

func gdbFeatures(Config) uint32 { return 0 }

func (vm *VM) attachGDB(context.Context) error { return nil }

func (vm *VM) closeGDB() {}

func (vm *VM) debuggerExit(uint32) *debugStop { return nil }

func (vm *VM) gdbExit(status int, halted bool, err error) (int, bool, error) {
	return status, halted, err
}

func (vm *VM) dumpCore(int, bool, error) {}

// CoreFile returns the path of the core file Run left in Config.DumpCore
// and the error that stopped writing it: in this build, never any.
func (vm *VM) CoreFile() (string, error) { return "", nil }
