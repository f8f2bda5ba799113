// Package hypercall serves a guest's hypercalls, in the style of Solo5's
// hvt tender: a Dispatcher maps hypercall numbers to handlers, and modules
// (Core for WALLTIME, PUTS, POLL and HALT; Block; Net) register their
// handlers with it.
//
// Handlers see only guest memory and host devices, never KVM: the vCPU loop
// decodes an exit into (number, argument GPA) and calls Dispatch. That keeps
// every guest-facing check here, where it is unit-tested and fuzzed without
// /dev/kvm.
//
// Every address and size a handler uses comes from the guest and is reached
// only through guestmem's checked accessor, which applies upstream's strict
// bounds: its read form for what the handler reads, its write form for
// every range the handler writes (an argument struct with result fields,
// a buffer the host fills), which also refuses read-only guest memory.
// The write check comes before any effect, so a guest that points output
// at its own text gets a fatal *Error, not a host fault, and no device
// I/O happens on its behalf.
// A handler answers a guest mistake the way upstream does: with a result
// code in the argument struct when the ABI has one (bad handle, bad offset),
// and with a fatal *Error when it does not (a pointer outside guest memory).
package hypercall

import (
	"errors"
	"fmt"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Halt is the guest's request to stop.
type Halt struct {
	// Status is the guest's exit status, as it passed it (the process exit
	// status is Status & 0xff, as upstream's).
	Status int
	// Cookie is a copy of the guestabi.HaltCookieMax bytes the guest's cookie
	// pointed to, or nil when the cookie was 0. After an abort it holds the
	// guest's trap registers.
	Cookie []byte
}

// Handler handles one hypercall whose argument struct is at guest-physical
// address arg. It returns a non-nil *Halt only for HALT, and an *Error for
// any failure that must stop the guest.
type Handler func(mem *guestmem.Memory, arg uint64) (*Halt, error)

// ErrGuest is matched (errors.Is) by every failure the guest caused: an
// invalid hypercall number, a pointer outside guest memory, or output
// aimed at read-only guest memory. Failures that are the host's (a console
// or device error) do not match it.
var ErrGuest = errors.New("guest error")

// ErrInvalidHypercall is matched by the error Dispatch returns for a number
// with no handler: 0, anything from guestabi.NumHypercalls up, or a device
// hypercall whose module is not in use (upstream's NULL table entry).
var ErrInvalidHypercall = errors.New("invalid guest hypercall")

// ErrRegister is matched by the errors Register returns.
var ErrRegister = errors.New("cannot register hypercall handler")

// Error is a hypercall that failed fatally. Its message names the hypercall
// and the bad value, e.g.
// "hypercall PUTS: invalid guest access: gpa=0x3ffff0, len=0x20 (...)".
type Error struct {
	Call guestabi.Hypercall // the hypercall that failed
	Err  error              // the cause
}

// Error returns "hypercall NAME: cause".
func (e *Error) Error() string {
	if e.Err == nil {
		return "hypercall " + e.Call.String() + ": failed"
	}
	return "hypercall " + e.Call.String() + ": " + e.Err.Error()
}

// Unwrap returns the cause, so errors.Is(err, guestmem.ErrOutOfBounds) and
// errors.As(err, new(*guestmem.AccessError)) see through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes every guest-caused *Error match ErrGuest. A bad guest pointer
// (outside guest memory, or read-only where the host must write) is the
// one fatal mistake a guest can make in a hypercall; the cause itself (a
// guestmem.AccessError) knows nothing about guests versus hosts, so the
// classification lives here.
func (e *Error) Is(target error) bool {
	return target == ErrGuest && (errors.Is(e.Err, guestmem.ErrOutOfBounds) || errors.Is(e.Err, guestmem.ErrReadOnly))
}

// invalidHypercallError is what Dispatch returns for a number without a
// handler; it matches both ErrInvalidHypercall and ErrGuest.
type invalidHypercallError struct{ nr uint64 }

func (e *invalidHypercallError) Error() string {
	return fmt.Sprintf("%v: num=%d", ErrInvalidHypercall, e.nr)
}

func (e *invalidHypercallError) Unwrap() []error { return []error{ErrInvalidHypercall, ErrGuest} }

// Dispatcher routes hypercalls to the handlers modules registered, like
// upstream's hvt_core_hypercalls table. Register everything before the
// first Dispatch; a Dispatcher is not safe for Register concurrent with
// Dispatch.
type Dispatcher struct {
	handlers [guestabi.NumHypercalls]Handler
}

// NewDispatcher returns a Dispatcher with no handlers.
func NewDispatcher() *Dispatcher { return &Dispatcher{} }

// Register makes h the handler of nr. It fails if nr is not a hypercall
// number, h is nil, or nr already has a handler (two modules claiming one
// hypercall is a setup bug, as upstream's assert).
func (d *Dispatcher) Register(nr guestabi.Hypercall, h Handler) error {
	return d.registerAll([]registration{{nr, h}})
}

// registration is one (number, handler) pair of a module.
type registration struct {
	nr guestabi.Hypercall
	h  Handler
}

// registerAll registers all of rs or, if any is refused, none of them, so a
// failed module setup leaves the dispatcher as it was.
func (d *Dispatcher) registerAll(rs []registration) error {
	for i, r := range rs {
		switch {
		case r.nr == 0 || r.nr >= guestabi.NumHypercalls:
			return fmt.Errorf("%w: %v is not a hypercall number", ErrRegister, r.nr)
		case r.h == nil:
			return fmt.Errorf("%w: nil handler for %v", ErrRegister, r.nr)
		case d.handlers[r.nr] != nil:
			return fmt.Errorf("%w: %v already has a handler", ErrRegister, r.nr)
		}
		for _, prev := range rs[:i] {
			if prev.nr == r.nr {
				return fmt.Errorf("%w: %v registered twice", ErrRegister, r.nr)
			}
		}
	}
	for _, r := range rs {
		d.handlers[r.nr] = r.h
	}
	return nil
}

// unregisterAll undoes a registerAll of rs, for a module whose setup
// failed after its handlers were registered.
func (d *Dispatcher) unregisterAll(rs []registration) {
	for _, r := range rs {
		d.handlers[r.nr] = nil
	}
}

// Dispatch runs hypercall nr with its argument struct at guest-physical
// address arg. nr and arg come straight from the guest: any value is safe.
// It returns a *Halt when the guest asked to stop, and an error that
// matches ErrInvalidHypercall for a number without a handler or is an
// *Error for a fatal handler failure. Either error ends the guest.
func (d *Dispatcher) Dispatch(mem *guestmem.Memory, nr uint64, arg uint64) (*Halt, error) {
	if nr >= guestabi.NumHypercalls || d.handlers[nr] == nil {
		return nil, &invalidHypercallError{nr: nr}
	}
	if mem == nil {
		return nil, &Error{Call: guestabi.Hypercall(nr), Err: errors.New("no guest memory")}
	}
	return d.handlers[nr](mem, arg)
}

// checked returns the host bytes of guest range [gpa, gpa+n) for call to
// read, or a fatal *Error. Every handler first checks its own argument
// struct this way (or with checkedWritable), then each buffer the struct
// points to, as upstream's HVT_CHECKED_GPA_P; a bad pointer is something
// no result code can report.
func checked(mem *guestmem.Memory, call guestabi.Hypercall, gpa, n uint64) ([]byte, error) {
	return fatal(call)(mem.Bytes(gpa, n))
}

// checkedWritable is checked for a range call writes: an argument struct
// with result fields or a buffer the host fills. Read-only guest memory
// is refused as a bad pointer is.
func checkedWritable(mem *guestmem.Memory, call guestabi.Hypercall, gpa, n uint64) ([]byte, error) {
	return fatal(call)(mem.Writable(gpa, n))
}

// fatal turns an accessor's refusal into call's fatal *Error.
func fatal(call guestabi.Hypercall) func([]byte, error) ([]byte, error) {
	return func(b []byte, err error) ([]byte, error) {
		if err != nil {
			return nil, &Error{Call: call, Err: err}
		}
		return b, nil
	}
}

// deviceHandle turns a guest's 64-bit handle into a map key. Handles are
// manifest indices; anything outside [1, ManifestMaxEntries) can name no
// device, and converting a huge uint64 to int would wrap, so it is refused
// here before any lookup.
func deviceHandle(h uint64) (int, bool) {
	if h == 0 || h >= guestabi.ManifestMaxEntries {
		return 0, false
	}
	return int(h), true
}

// validHandle reports whether a host-side configuration handle can be a
// device's manifest index (entry 0 is the manifest's reserved entry).
func validHandle(h int) bool { return h >= 1 && h < guestabi.ManifestMaxEntries }
