//go:build !unimon_nodebug

package monitor

import (
	"encoding/binary"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/gdbstub"
	"github.com/unimon/unimon/monitor/kvm"
)

func newDebugTarget(vm *VM) gdbstub.Target { return gdbstub.NewKVM(vm.vcpu, vm.mem) }

// gdbFeatures tells a unikernel with a debugger attached that it may hand
// user-mode debug traps to it (guestabi.FeatureDebugTrap).
func gdbFeatures(cfg Config) uint32 {
	if cfg.GDB != nil {
		return guestabi.FeatureDebugTrap
	}
	return 0
}

// debugTrap tells whether an exit is the debugger's: KVM_EXIT_DEBUG; on
// KVM hosts that emulate guest code rather than trap its int3 (the nested
// PVM hosts unimon is tested on, for CPL0 code), an emulation failure
// exactly at one of the stub's software breakpoints; or a user-mode trap
// the unikernel hands over (guestabi.DebugTrapPort), on hosts where those
// reach the guest.
func (vm *VM) debugTrap(reason uint32) (gdbstub.Stop, bool) {
	switch reason {
	case kvm.ExitIO:
		io := vm.vcpu.IO()
		if !io.Out || io.Port != guestabi.DebugTrapPort || io.Size != 4 || len(io.Data) != 4 {
			return gdbstub.Stop{}, false
		}
		return vm.frameTrap(uint64(binary.LittleEndian.Uint32(io.Data))), true
	case kvm.ExitDebug:
		return gdbstub.DecodeStop(vm.vcpu.Debug()), true
	case kvm.ExitInternalError:
		if r, err := vm.vcpu.Regs(); err == nil && vm.stub.SoftwareBreakpointAt(r.RIP) {
			return gdbstub.Stop{Signal: sigTrap, SWBreak: true, HW: -1}, true
		}
	}
	return gdbstub.Stop{}, false
}

// checkGDBArch looks at the host's flavour of KVM now, before the guest
// runs (and before any sandbox could forbid the look).
func checkGDBArch() error {
	kvm.PVM()
	return nil
}

// frameTrap stops for a user-mode #DB or #BP whose registers are the
// DebugFrame at gpa. After an int3 of the stub, RIP is moved back onto
// the breakpoint, where gdb expects it.
func (vm *VM) frameTrap(gpa uint64) gdbstub.Stop {
	stop := gdbstub.Stop{Signal: sigTrap, HW: -1}
	k, ok := vm.target.(*gdbstub.KVM)
	if !ok {
		return stop
	}
	fr, err := k.UseFrame(gpa)
	if err != nil {
		// A guest that sends garbage gets a SIGSEGV stop, not a crash.
		stop.Signal = sigSegv
		return stop
	}
	if fr.Vector == 3 && vm.stub.SoftwareBreakpointAt(fr.RIP-1) {
		if k.SetPC(fr.RIP-1) == nil {
			stop.SWBreak = true
		}
	}
	return stop
}
