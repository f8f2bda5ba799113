//go:build !unimon_nodebug

package monitor

import (
	"fmt"

	"github.com/unimon/unimon/monitor/gdbstub"
)

func newDebugTarget(vm *VM) gdbstub.Target { return nil }

func (vm *VM) debugTrap(reason uint32) (gdbstub.Stop, bool) { return gdbstub.Stop{}, false }

// checkGDBArch refuses the gdb stub on arm64, which needs its own Target:
// KVM_SET_GUEST_DEBUG with arm64's DBGBVR/DBGWVR pairs, registers through
// KVM_GET_ONE_REG, BRK #0 as the breakpoint, and a stage-1 table walk
// from TTBR0_EL1.
func gdbFeatures(Config) uint32 { return 0 }

func checkGDBArch() error {
	return fmt.Errorf("%w: the gdb stub is not available on arm64 yet", ErrConfig)
}
