package microguest

import (
	"fmt"
	"sort"
)

// a64Named maps catalogue names to the aarch64 guests. The names common
// to both architectures mean the same program, so a tool can build "hello"
// for whichever architecture it runs on.
var a64Named = map[string]func(Params) []byte{
	"hello":            func(Params) []byte { return A64Hello() },
	"exit":             func(p Params) []byte { return A64Exit(p.Status) },
	"walltime":         func(Params) []byte { return A64Walltime() },
	"poll":             func(p Params) []byte { return A64PollTimeout(p.Timeout) },
	"block-roundtrip":  func(Params) []byte { return A64BlockRoundTrip() },
	"net-echo":         func(Params) []byte { return A64NetEcho() },
	"write-text":       func(Params) []byte { return A64WriteText() },
	"spin":             func(Params) []byte { return A64Spin() },
	"puts-loop":        func(p Params) []byte { return A64PutsLoop(p.N) },
	"walltime-loop":    func(p Params) []byte { return A64WalltimeLoop(p.N) },
	"boot-info":        func(Params) []byte { return A64BootInfo() },
	"stack-top":        func(Params) []byte { return A64StackTop() },
	"fpu":              func(Params) []byte { return A64FPU() },
	"bad-mmio":         func(Params) []byte { return A64BadMMIO() },
	"mmio-read":        func(Params) []byte { return A64MMIORead() },
	"mmio-no-syndrome": func(Params) []byte { return A64MMIONoSyndrome() },
	"psci-off":         func(Params) []byte { return A64PSCI(PSCISystemOff) },
	"psci-reset":       func(Params) []byte { return A64PSCI(PSCISystemReset) },
}

func init() {
	for _, c := range HostileCases() {
		a64Named[c.Name()] = func(Params) []byte {
			b, _ := A64Hostile(c.Call, c.Kind) // valid by construction
			return b
		}
	}
}

// A64Names lists every aarch64 guest BuildA64 knows, sorted.
func A64Names() []string {
	ns := make([]string, 0, len(a64Named))
	for n := range a64Named {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// BuildA64 is Build for aarch64: the ELF of the aarch64 guest called
// name, with p for the parameterised ones.
func BuildA64(name string, p Params) ([]byte, error) {
	f, ok := a64Named[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (aarch64)", ErrUnknownGuest, name)
	}
	return f(p), nil
}
