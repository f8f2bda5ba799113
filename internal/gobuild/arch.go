package gobuild

import (
	"debug/elf"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
)

// target is what differs between the architectures unimon builds Go
// unikernels for.
type target struct {
	goarch  string
	machine elf.Machine
	// env is added to go build's environment after GOOS, GOARCH and
	// CGO_ENABLED.
	env []string
	// ldflags are added to the bindings' entry point and text address.
	ldflags string
	// patchSyscalls makes the program's system call instructions trap
	// into the bindings and returns their addresses (sorted), or nil when
	// they trap by themselves.
	patchSyscalls func(f *elf.File, out []byte) ([]uint64, error)
}

// targets by GOARCH. On amd64 a SYSCALL from user mode cannot trap on the
// machines unimon targets (see patch.go), so each becomes UD2. On arm64,
// SVC from EL0 is a synchronous exception taken to EL1 by definition
// (ESR_EL1.EC 0x15), with nothing to configure, so the binary is left as
// the Go linker wrote it.
var targets = map[string]target{
	"amd64": {goarch: "amd64", machine: elf.EM_X86_64, env: []string{"GOAMD64=v1"}, patchSyscalls: patchSyscalls},
	// -R 0x1000: 4 KiB segment alignment, as the hvt loader's page
	// protections are in 4 KiB pages (the arm64 linker's default is 64 KiB).
	"arm64": {goarch: "arm64", machine: elf.EM_AARCH64, ldflags: " -R=0x1000", patchSyscalls: noSyscallPatch},
}

func noSyscallPatch(*elf.File, []byte) ([]uint64, error) { return nil, nil }

// ErrArch is returned (wrapped) for an architecture unimon cannot build for.
var ErrArch = errors.New("unsupported unikernel architecture")

// Archs are the GOARCH values `unimon build` makes unikernels for.
func Archs() []string { return slices.Sorted(maps.Keys(targets)) }

// resolveArch picks the architecture of a build: the one asked for,
// else $GOARCH (as for go build), else this machine's when unimon builds
// for it, else amd64.
func resolveArch(arch string) (target, error) {
	if arch == "" {
		arch = os.Getenv("GOARCH")
	}
	if arch == "" {
		arch = runtime.GOARCH
		if _, ok := targets[arch]; !ok {
			arch = "amd64"
		}
	}
	t, ok := targets[arch]
	if !ok {
		return target{}, fmt.Errorf("%w: %q (unimon build makes unikernels for %v)", ErrArch, arch, Archs())
	}
	return t, nil
}

// targetOf is the target of a linked executable.
func targetOf(m elf.Machine) (target, bool) {
	for _, t := range targets {
		if t.machine == m {
			return t, true
		}
	}
	return target{}, false
}
