package monitor

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/hypercall"
	"github.com/unimon/unimon/monitor/kvm"
)

// arch is what differs between x86_64 and arm64: boot state, and how a
// hypercall or a fatal exit shows up. Everything else is shared.
type arch interface {
	machine() elfload.Machine
	// checkHost refuses hosts the backend cannot run on, before any work.
	checkHost() error
	// createVCPU creates vCPU 0 with whatever the VM needs first,
	// including what the unikernel's feature request (guestabi.Request*
	// bits) asks for and the backend can give; it returns the
	// guestabi.Feature* bits it gave, for BootInfo.HostFeatures.
	createVCPU(sys *kvm.System, vm *kvm.VM, request uint32) (*kvm.VCPU, uint32, error)
	// prefetch asks KVM, ahead of setupVCPU, for what setupVCPU will need
	// of the system and is slow to answer; New runs it on a goroutine of
	// its own while it creates the VM and vCPU. Its errors are setupVCPU's
	// to report when it asks again.
	prefetch(sys *kvm.System)
	// setupMemory writes the architecture's boot structures (page tables).
	setupMemory(mem *guestmem.Memory) error
	// setupVCPU sets the entry state for a machine with hostFeatures and
	// returns the guest's cycle counter frequency in Hz.
	setupVCPU(sys *kvm.System, vcpu *kvm.VCPU, entry, memSize uint64, hostFeatures uint32) (uint64, error)
	// decodeExit turns an architecture-specific exit into a hypercall
	// (ok true) or an error; ok false with a nil error means the exit is
	// not the architecture's to decode.
	decodeExit(vcpu *kvm.VCPU, reason uint32, memSize uint64) (nr, arg uint64, ok bool, err error)
	// state describes the vCPU for error messages ("rip=0x... rsp=0x...").
	state(vcpu *kvm.VCPU) string
}

// Run boots the guest and returns its exit status once it halts. A guest
// that breaks the ABI or crashes ends with an error wrapping ErrGuest.
// Cancelling ctx stops the guest promptly, even one spinning forever or
// one whose console output is stuck in a blocked Console writer, and Run
// returns ctx's error. A VM runs once: a second Run, or a Run after
// Close, returns an error wrapping ErrClosed. Run returns only once
// nothing it started can touch the VM any more.
func (vm *VM) Run(ctx context.Context) (int, error) {
	ctx, finish, err := vm.life.start(ctx)
	if err != nil {
		return 0, err
	}
	defer finish()
	vcpu, core := vm.vcpu, vm.core
	if vcpu == nil {
		return 0, ErrClosed
	}

	// KVM wants the same thread for a vCPU's KVM_RUN calls, and Kick needs
	// a thread to signal.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	vcpu.BindThread(true)
	defer vcpu.BindThread(false)
	// Cancellation (ctx, or Close) kicks the vCPU out of KVM_RUN and ends
	// a POLL or console write in progress. The callback runs on its own
	// goroutine and touches the vCPU, so Run must not return (and let
	// Close unmap kvm_run) while it may still be running: stop reporting
	// false means it has started, and then Run waits for it to finish.
	kicked := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(kicked)
		vcpu.Kick()
		core.Interrupt()
	})
	defer func() {
		if !stop() {
			<-kicked
		}
	}()
	// The gdb session, if any, calls the vCPU's Kick from its own
	// goroutine (gdb's Ctrl-C) too: closeGDB waits for it to be gone.
	defer vm.closeGDB()
	if err := vm.attachGDB(ctx); err != nil {
		return 0, err
	}

	for {
		if ctx.Err() != nil {
			return 0, vm.stopped(ctx)
		}
		status, halted, err := vm.gdbExit(vm.step())
		if errors.Is(err, hypercall.ErrInterrupted) || errors.Is(err, kvm.ErrInterrupted) {
			continue // a signal or a Kick: the loop head decides
		}
		if errors.Is(err, ErrKilled) && ctx.Err() != nil {
			// Cancelling ends the gdb session too: that is why gdb went.
			return 0, vm.stopped(ctx)
		}
		if err != nil || halted {
			vm.dumpCore(status, halted, err)
			return status, err
		}
	}
}

// hypercall handles hypercall nr with argument arg: a halt's status, or
// an error that says whose fault a failure is.
func (vm *VM) hypercall(nr, arg uint64) (status int, halted bool, err error) {
	h, err := vm.disp.Dispatch(vm.mem, nr, arg)
	if err != nil {
		switch {
		case errors.Is(err, hypercall.ErrInterrupted):
			vm.interrupted = interruptedCall{nr, arg, true}
			return 0, false, err
		case errors.Is(err, hypercall.ErrGuest):
			return 0, false, fmt.Errorf("%w: %w", ErrGuest, err)
		}
		// The guest asked for something valid and the host failed it
		// (a console or device error): not the guest's fault.
		return 0, false, fmt.Errorf("%w: %w", ErrDevice, err)
	}
	if h != nil {
		vm.haltCookie = h.Cookie
		return h.Status, true, nil
	}
	return 0, false, nil
}

// stopped is Run's error when ctx ended it. It says where the guest was,
// so a guest cancelled because it hung shows where it hung.
func (vm *VM) stopped(ctx context.Context) error {
	return fmt.Errorf("stopped (guest at %s): %w", hostArch.state(vm.vcpu), context.Cause(ctx))
}

// interruptedCall is a hypercall that returned ErrInterrupted and that
// step makes again before the guest runs on: the guest never saw it
// return.
type interruptedCall struct {
	nr, arg uint64
	pending bool
}

// step runs the guest until one exit and handles it.
func (vm *VM) step() (status int, halted bool, err error) {
	if c := vm.interrupted; c.pending {
		// A Wake (gdb's Ctrl-C) cut the guest's POLL short; a stop
		// (cancellation) never gets here, Run's loop returns first.
		vm.interrupted = interruptedCall{}
		return vm.hypercall(c.nr, c.arg)
	}
	if err := vm.vcpu.Run(); err != nil {
		if errors.Is(err, kvm.ErrFault) {
			return 0, false, vm.fault("KVM: host/guest translation fault (a write to read-only memory?)")
		}
		return 0, false, err
	}
	reason := vm.vcpu.ExitReason()
	if stop := vm.debuggerExit(reason); stop != nil {
		return 0, false, stop
	}
	nr, arg, ok, err := hostArch.decodeExit(vm.vcpu, reason, vm.mem.Size())
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w: %s", ErrGuest, err, hostArch.state(vm.vcpu))
	}
	if ok {
		return vm.hypercall(nr, arg)
	}
	switch reason {
	case kvm.ExitIntr:
		return 0, false, kvm.ErrInterrupted
	case kvm.ExitShutdown:
		return 0, false, vm.fault("triple fault (KVM_EXIT_SHUTDOWN)")
	case kvm.ExitHLT:
		return 0, false, vm.fault("the guest halted the CPU with interrupts it cannot receive (KVM_EXIT_HLT)")
	case kvm.ExitFailEntry:
		return 0, false, vm.fault("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason %#x)", vm.vcpu.FailEntryReason())
	case kvm.ExitInternalError:
		sub, data := vm.vcpu.InternalError()
		return 0, false, vm.fault("KVM internal error (KVM_EXIT_INTERNAL_ERROR suberror %d, data %#x): the instruction cannot be emulated", sub, data)
	case kvm.ExitSystemEvent:
		typ, data := vm.vcpu.SystemEvent()
		return 0, false, vm.fault("system event %s (data %#x) instead of the HALT hypercall", systemEventName(typ), data)
	}
	return 0, false, vm.fault("KVM: unhandled exit: exit_reason=KVM_EXIT_%s", kvm.ExitName(reason))
}

// fault is the error for a guest that crashed its vCPU or broke the ABI:
// what happened, then where the vCPU stood.
func (vm *VM) fault(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrGuest, fmt.Sprintf(format, args...), hostArch.state(vm.vcpu))
}

func systemEventName(t uint32) string {
	switch t {
	case kvm.SystemEventShutdown:
		return "SHUTDOWN (power off)"
	case kvm.SystemEventReset:
		return "RESET"
	case kvm.SystemEventCrash:
		return "CRASH"
	}
	return fmt.Sprintf("%d", t)
}
