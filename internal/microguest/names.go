package microguest

import (
	"errors"
	"fmt"
)

// Params are the arguments of the parameterised guests, for Build.
type Params struct {
	Status  int32  // Exit's exit status
	N       uint32 // iterations of PutsLoop, WalltimeLoop, RawExitLoop
	Timeout uint64 // PollTimeout's timeout in nanoseconds
}

// ErrUnknownGuest is returned (wrapped) by Build for a name not in Names.
var ErrUnknownGuest = errors.New("microguest: unknown guest")

// named maps the catalogue's names to the builders of their programs: the
// x86_64-only ones, and the portable ones (Hostile cases among them,
// under their HostileCase.Name).
var named = withPortable(map[string]func(Params) func(*prog){
	"triple-fault":  func(Params) func(*prog) { return tripleFaultProg() },
	"write-text":    func(Params) func(*prog) { return writeTextProg() },
	"bad-port":      func(Params) func(*prog) { return badPortProg() },
	"bad-port-size": func(Params) func(*prog) { return badPortSizeProg() },
	"spin":          func(Params) func(*prog) { return spinProg() },
	"raw-exit-loop": func(p Params) func(*prog) { return rawExitLoopProg(p.N) },
})

// Names lists every guest Build knows, sorted: the fixed catalogue
// ("hello", "exit", "walltime", "poll", "block-roundtrip", "net-echo",
// "triple-fault", "write-text", "bad-port", "bad-port-size", "spin",
// "puts-loop", "walltime-loop", "raw-exit-loop") and one
// "hostile-<call>-<kind>" per HostileCase.
func Names() []string { return sortedNames(named) }

// Build returns the ELF of the guest called name, with p for the
// parameterised ones (ignored by the others).
func Build(name string, p Params) ([]byte, error) {
	f, ok := named[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownGuest, name)
	}
	return build(f(p)), nil
}
