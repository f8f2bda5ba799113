package monitor

import (
	"fmt"

	"github.com/unimon/unimon/monitor/coredump"
)

// coreImage is not written for arm64 yet: it needs NT_PRSTATUS in
// arm64's user_pt_regs layout (x0-x30, sp, pc, pstate from
// KVM_GET_ONE_REG) and a walk of the guest's stage-1 tables from TTBR0.
func (vm *VM) coreImage(sig int, halted bool) (coredump.Core, error) {
	return coredump.Core{}, fmt.Errorf("core dumps are not supported on arm64 yet")
}
