package gdbstub

import "errors"

// ErrNoSlot is returned by a Target that has no free hardware debug
// register for another breakpoint or watchpoint.
var ErrNoSlot = errors.New("no free debug register")

// Kind is what a hardware debug register traps.
type Kind int

// Hardware breakpoint kinds, as gdb's Z1-Z4 packets name them.
const (
	Exec   Kind = 1 // Z1: instruction breakpoint
	Write  Kind = 2 // Z2: write watchpoint
	Read   Kind = 3 // Z3: read watchpoint
	Access Kind = 4 // Z4: access watchpoint
)

// HW is one hardware breakpoint or watchpoint.
type HW struct {
	Kind Kind
	Addr uint64
	Len  int // bytes watched: 1, 2, 4 or 8 (1 for Exec)
}

// Stop is why the guest stopped, as a Target decodes it.
type Stop struct {
	// Signal is the Unix signal gdb is told (5 SIGTRAP for breakpoints and
	// steps, 2 SIGINT for Ctrl-C, 11 SIGSEGV for a guest fault).
	Signal int
	// SWBreak: the guest hit a software breakpoint (int3) of the stub.
	SWBreak bool
	// HW: the index in the last SetDebug's list of the hardware
	// breakpoint or watchpoint that fired, or -1.
	HW int
}

// Target is the stopped vCPU and memory of one guest, in one
// architecture's terms. Every method is called only while the guest is
// stopped.
type Target interface {
	// XML is the target description gdb reads (qXfer:features:read).
	XML() string
	// Registers returns every register of the description, in its order,
	// in gdb's byte layout.
	Registers() ([]byte, error)
	// SetRegister changes register n from its gdb bytes; registers the
	// target does not let gdb change are ignored.
	SetRegister(n int, b []byte) error
	// RegisterSize is the size in bytes of register n, 0 past the last.
	RegisterSize(n int) int
	// ReadMemory and WriteMemory access guest virtual memory as the guest
	// sees it now; an unmapped address is an error, never a host fault.
	ReadMemory(addr uint64, b []byte) error
	WriteMemory(addr uint64, b []byte) error
	// PC is the address of the next instruction.
	PC() (uint64, error)
	// BreakInstruction is the software breakpoint's bytes (int3 on x86).
	BreakInstruction() []byte
	// SetDebug arms single stepping, the hardware breakpoints in hw and
	// int3 trapping (swbreak) for the next run; all false and empty turns
	// debugging off.
	SetDebug(step bool, hw []HW, swbreak bool) error
	// MaxHW is how many hardware breakpoints and watchpoints fit.
	MaxHW() int
	// StepWatches reports that the host's data breakpoints cannot be
	// trusted to fire, so write and access watchpoints are emulated by
	// single stepping and comparing the watched bytes.
	StepWatches() bool
}
