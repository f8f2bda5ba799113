package monitor

import (
	"github.com/unimon/unimon/monitor/gdbstub"
	"github.com/unimon/unimon/monitor/kvm"
)

func newDebugTarget(vm *VM) gdbstub.Target { return gdbstub.NewKVM(vm.vcpu, vm.mem) }

// debugTrap tells whether an exit is the debugger's: KVM_EXIT_DEBUG, or,
// on KVM hosts that emulate guest code rather than trap its int3 (the
// nested PVM hosts unimon is tested on, for CPL0 code), an emulation
// failure exactly at one of the stub's software breakpoints.
func (vm *VM) debugTrap(reason uint32) (gdbstub.Stop, bool) {
	switch reason {
	case kvm.ExitDebug:
		return gdbstub.DecodeStop(vm.vcpu.Debug()), true
	case kvm.ExitInternalError:
		if r, err := vm.vcpu.Regs(); err == nil && vm.stub.SoftwareBreakpointAt(r.RIP) {
			return gdbstub.Stop{Signal: sigTrap, SWBreak: true, HW: -1}, true
		}
	}
	return gdbstub.Stop{}, false
}

func checkGDBArch() error { return nil }
