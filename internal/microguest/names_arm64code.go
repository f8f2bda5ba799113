package microguest

import (
	"fmt"
)

// a64Named maps catalogue names to the builders of the aarch64 guests:
// the aarch64-only ones, those with a form of their own on aarch64, and
// the portable ones, which mean the same program as under Build.
var a64Named = withPortable(map[string]func(Params) func(*a64prog){
	"write-text":       func(Params) func(*a64prog) { return a64WriteText },
	"spin":             func(Params) func(*a64prog) { return a64Spin },
	"boot-info":        func(Params) func(*a64prog) { return a64BootInfo },
	"stack-top":        func(Params) func(*a64prog) { return a64StackTop },
	"fpu":              func(Params) func(*a64prog) { return a64FPU },
	"bad-mmio":         func(Params) func(*a64prog) { return a64BadMMIO },
	"mmio-read":        func(Params) func(*a64prog) { return a64MMIORead },
	"mmio-no-syndrome": func(Params) func(*a64prog) { return a64MMIONoSyndrome },
	"psci-off":         func(Params) func(*a64prog) { return a64PSCI(PSCISystemOff) },
	"psci-reset":       func(Params) func(*a64prog) { return a64PSCI(PSCISystemReset) },
})

// A64Names lists every aarch64 guest BuildA64 knows, sorted.
func A64Names() []string { return sortedNames(a64Named) }

// BuildA64 is Build for aarch64: the ELF of the aarch64 guest called
// name, with p for the parameterised ones.
func BuildA64(name string, p Params) ([]byte, error) {
	f, ok := a64Named[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (aarch64)", ErrUnknownGuest, name)
	}
	return buildA64(f(p)), nil
}
