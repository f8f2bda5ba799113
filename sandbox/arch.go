package sandbox

import (
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

//go:generate go test -run TestSysnumTables -update .

// arch is what the filter needs to know of one architecture. Both are
// always compiled, so that the tests run either architecture's program
// in x/net/bpf's VM on any host; the CLI links only the native one.
type arch struct {
	goarch string
	// audit is seccomp_data.arch for the architecture's native calls
	// (AUDIT_ARCH_*): another value means another ABI (i386 through int
	// $0x80 on amd64, arm32 compat on arm64), whose numbers mean other
	// calls.
	audit uint32
	// x32 says the x32 ABI shares audit, telling its calls apart by
	// x32Bit in the number (amd64 only).
	x32 bool
	// names[nr] is the name of system call nr; byName are the numbers
	// in the order of their names.
	names  []string
	byName []uint16
	// runIoctls are the ioctl requests the vCPU run loop issues. Anything
	// else (creating VMs and vCPUs, setting registers or memory slots,
	// tap configuration) is setup, done before LockDown.
	runIoctls []uint64
}

// x32Bit is __X32_SYSCALL_BIT: set in the number of an x32 call.
const x32Bit = 0x40000000

var amd64 = arch{
	goarch: "amd64",
	audit:  unix.AUDIT_ARCH_X86_64,
	x32:    true,
	names:  amd64Names,
	byName: amd64ByName,
	// KVM_RUN, and KVM_GET_REGS and KVM_GET_SREGS for the registers a
	// guest-fault message names.
	runIoctls: []uint64{0xae80, 0x8090ae81, 0x8138ae83},
}

var arm64 = arch{
	goarch: "arm64",
	audit:  unix.AUDIT_ARCH_AARCH64,
	names:  arm64Names,
	byName: arm64ByName,
	// KVM_RUN, and KVM_GET_ONE_REG for the registers a guest-fault
	// message names.
	runIoctls: []uint64{0xae80, 0x4010aeab},
}

// number is the number of the system call named name.
func (a *arch) number(name string) (int, bool) {
	i, ok := sort.Find(len(a.byName), func(i int) int { return strings.Compare(name, a.names[a.byName[i]]) })
	if !ok {
		return 0, false
	}
	return int(a.byName[i]), true
}

// name is the name of system call nr, or "unknown".
func (a *arch) name(nr int) string {
	if nr >= 0 && nr < len(a.names) && a.names[nr] != "" {
		return a.names[nr]
	}
	return "unknown"
}
