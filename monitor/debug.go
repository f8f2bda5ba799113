//go:build !unimon_nodebug

package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/unimon/unimon/monitor/gdbstub"
	"github.com/unimon/unimon/monitor/hypercall"
	"github.com/unimon/unimon/monitor/kvm"
)

// Signals gdb is told.
const (
	sigInt  = 2
	sigTrap = 5
)

// debugState is what a VM keeps for post-mortem and live debugging.
type debugState struct {
	dumpDir  string
	coreFile string
	coreErr  error

	gdbConn    io.ReadWriteCloser // Config.GDB until the session starts
	stub       *gdbstub.Stub
	target     gdbstub.Target
	stopGDB    func() bool   // undoes the context.AfterFunc that ends the session
	gdbStopped chan struct{} // closed once that AfterFunc has run
}

// initDebug takes the debugging options of cfg, which checkDebug passed.
func (vm *VM) initDebug(cfg Config) {
	vm.dumpDir, vm.gdbConn = cfg.DumpCore, cfg.GDB
}

// debugStop is step's report of an exit that belongs to the debugger.
type debugStop struct{ stop gdbstub.Stop }

func (d *debugStop) Error() string { return "stopped for the debugger" }

// debuggerExit is step's report of an exit that belongs to the debugger,
// or nil for any other exit.
func (vm *VM) debuggerExit(reason uint32) *debugStop {
	if vm.stub == nil {
		return nil
	}
	if stop, ok := vm.debugTrap(reason); ok {
		return &debugStop{stop}
	}
	return nil
}

// attachGDB starts the gdb session on Config.GDB, before the guest's
// first instruction, and serves it until gdb resumes the guest. Without
// GDB it does nothing.
func (vm *VM) attachGDB(ctx context.Context) error {
	if vm.gdbConn == nil {
		return nil
	}
	nc := vm.gdbConn
	vm.gdbConn = nil // the stub's from here on: it closes it
	vm.target = newDebugTarget(vm)
	// gdb's Ctrl-C stops a running guest (Kick) and one asleep in POLL
	// (Wake; step makes the POLL again when gdb resumes the guest).
	vcpu, core := vm.vcpu, vm.core
	stub := gdbstub.New(nc, vm.target, func() {
		vcpu.Kick()
		core.Wake()
	})
	vm.stub = stub
	// A cancelled Run (ctx, or Close) must not wait on gdb forever: the
	// callback ends the session, which makes a Stopped in progress return.
	// It touches only the stub, never vm's fields, which Run owns.
	stopped := make(chan struct{})
	vm.stopGDB, vm.gdbStopped = context.AfterFunc(ctx, func() {
		defer close(stopped)
		stub.Close()
	}), stopped
	vm.settle()
	act, err := vm.stub.Stopped(gdbstub.Stop{Signal: sigTrap, HW: -1}, true)
	_, _, err = vm.gdbAct(act, err)
	switch {
	case errors.Is(err, kvm.ErrInterrupted):
		return nil
	case errors.Is(err, ErrKilled) && ctx.Err() != nil:
		// Cancelling ended the session: that is why gdb went.
		return vm.stopped(ctx)
	}
	return err
}

// settle forgets a Ctrl-C that raced with the stop about to be served
// (it is that stop), flag first and then the vCPU's kick: a Ctrl-C after
// the flag is cleared then either stops the next run at once or, at
// worst, waits for the guest's next exit; it never leaves the vCPU
// kicked with no flag to explain it.
func (vm *VM) settle() {
	vm.stub.Interrupted()
	vm.vcpu.Rearm()
}

// closeGDB ends the gdb session, if one is left. When it returns, no
// goroutine of the session is left (its Ctrl-C reader calls the vCPU's
// Kick, so Run must not return and let Close free the vCPU before), and
// the callback that ends it on cancellation has finished or never runs.
func (vm *VM) closeGDB() {
	if vm.gdbConn != nil { // no Run started the session
		vm.gdbConn.Close()
		vm.gdbConn = nil
	}
	if vm.stub == nil {
		return
	}
	if !vm.stopGDB() {
		<-vm.gdbStopped
	}
	vm.stub.Close()
	vm.stub, vm.stopGDB, vm.gdbStopped = nil, nil, nil
}

// gdbExit lets the debugger see how step ended: a breakpoint, step or
// Ctrl-C is served and the guest resumes (the result is then
// kvm.ErrInterrupted, which Run's loop takes as "go on"); a halt or a
// fault is reported to gdb and ends the run as it would have without it.
func (vm *VM) gdbExit(status int, halted bool, err error) (int, bool, error) {
	if vm.stub == nil {
		return status, halted, err
	}
	var ds *debugStop
	var stop gdbstub.Stop
	switch {
	case errors.As(err, &ds):
		stop = ds.stop
	case (errors.Is(err, kvm.ErrInterrupted) || errors.Is(err, hypercall.ErrInterrupted)) && vm.stub.Interrupted():
		stop = gdbstub.Stop{Signal: sigInt, HW: -1}
	case halted:
		vm.stub.Exited(status)
		vm.closeGDB()
		return status, halted, err
	case errors.Is(err, ErrGuest):
		// gdb may look at the wreck; then the run ends with the fault.
		if _, serr := vm.stub.Stopped(gdbstub.Stop{Signal: sigSegv, HW: -1}, false); serr == nil {
			vm.stub.Terminated(sigSegv)
		}
		vm.closeGDB()
		return status, halted, err
	default:
		return status, halted, err
	}
	vm.settle()
	act, serr := vm.stub.Stopped(stop, false)
	return vm.gdbAct(act, serr)
}

// gdbAct carries out how gdb resumed the guest.
func (vm *VM) gdbAct(act gdbstub.Action, err error) (int, bool, error) {
	switch {
	case err != nil:
		vm.closeGDB()
		return 0, false, fmt.Errorf("%w: %w", ErrKilled, err)
	case act == gdbstub.Kill:
		vm.closeGDB()
		return 0, false, ErrKilled
	case act == gdbstub.Detach:
		vm.closeGDB()
		// A Ctrl-C that raced with the detach must not stop the guest
		// forever; a cancelled ctx is still seen at Run's loop head.
		vm.vcpu.Rearm()
	}
	return 0, false, kvm.ErrInterrupted
}
