package microguest

import (
	"debug/elf"
	"runtime"

	"github.com/unimon/unimon/guestabi"
)

// Catalogue is one architecture's set of the guests that mean the same on
// every architecture, so a test can be written once and run whichever
// host it is on (through Host). Each field points at that architecture's
// own constructor, whose doc comment says what the host should observe.
//
// The guests whose failure only exists on one architecture are not in it:
// TripleFault, BadPort, BadPortSize and RawExitLoop (x86_64), and the
// A64BadMMIO, A64MMIORead, A64MMIONoSyndrome, A64PSCI, A64BootInfo,
// A64StackTop, A64FPU, A64FPUAbort and A64MMUOffAbort guests (aarch64).
// Tests of those are architecture-specific by nature and call the
// functions directly.
type Catalogue struct {
	// Arch is the GOARCH whose KVM runs these guests: "amd64" or "arm64".
	Arch string
	// Machine is every guest's ELF e_machine.
	Machine elf.Machine

	// Names and Build are the by-name catalogue (for tools): the names
	// listed in Names and A64Names mean the same program on both
	// architectures where they are shared.
	Names func() []string
	Build func(name string, p Params) ([]byte, error)

	Hello          func() []byte
	Exit           func(status int32) []byte
	Walltime       func() []byte
	PollTimeout    func(ns uint64) []byte
	BlockRoundTrip func() []byte
	NetEcho        func() []byte
	DeviceEcho     func() []byte
	WriteText      func() []byte
	Spin           func() []byte
	PutsLoop       func(n uint32) []byte
	WalltimeLoop   func(n uint32) []byte

	// Hostile builds the guest for a HostileCase. HostileCases and
	// HostileCase.Fatal are the same on both architectures, so they are
	// not per-catalogue: both builders make the same calls with the same
	// argument structs, devices and bad addresses (only the instruction
	// that traps differs), and the monitor's hypercall handlers, which
	// decide fatal or EINVAL, are shared by both architectures.
	Hostile func(call guestabi.Hypercall, kind HostileKind) ([]byte, error)
	// ReadOnly builds the guest for a ReadOnlyCase: hypercall output
	// aimed at read-only guest memory.
	ReadOnly func(c ReadOnlyCase) []byte
}

// X86_64 is the catalogue of x86_64 guests.
var X86_64 = Catalogue{
	Arch:           "amd64",
	Machine:        elf.EM_X86_64,
	Names:          Names,
	Build:          Build,
	Hello:          Hello,
	Exit:           Exit,
	Walltime:       Walltime,
	PollTimeout:    PollTimeout,
	BlockRoundTrip: BlockRoundTrip,
	NetEcho:        NetEcho,
	DeviceEcho:     DeviceEcho,
	WriteText:      WriteText,
	Spin:           Spin,
	PutsLoop:       PutsLoop,
	WalltimeLoop:   WalltimeLoop,
	Hostile:        Hostile,
	ReadOnly:       ReadOnly,
}

// AArch64 is the catalogue of aarch64 guests.
var AArch64 = Catalogue{
	Arch:           "arm64",
	Machine:        elf.EM_AARCH64,
	Names:          A64Names,
	Build:          BuildA64,
	Hello:          A64Hello,
	Exit:           A64Exit,
	Walltime:       A64Walltime,
	PollTimeout:    A64PollTimeout,
	BlockRoundTrip: A64BlockRoundTrip,
	NetEcho:        A64NetEcho,
	DeviceEcho:     A64DeviceEcho,
	WriteText:      A64WriteText,
	Spin:           A64Spin,
	PutsLoop:       A64PutsLoop,
	WalltimeLoop:   A64WalltimeLoop,
	Hostile:        A64Hostile,
	ReadOnly:       A64ReadOnly,
}

// ForArch returns the catalogue for goarch ("amd64" or "arm64"), and
// false for an architecture unimon does not run guests on.
func ForArch(goarch string) (Catalogue, bool) {
	switch goarch {
	case X86_64.Arch:
		return X86_64, true
	case AArch64.Arch:
		return AArch64, true
	}
	return Catalogue{}, false
}

// Host is the catalogue of the architecture this program runs on: the
// guests its KVM can run. On an architecture without one it is the zero
// Catalogue (the monitor does not build there either).
var Host, _ = ForArch(runtime.GOARCH)
