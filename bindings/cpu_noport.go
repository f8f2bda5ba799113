//go:build linux && !amd64 && !arm64

package bindings

import "github.com/unimon/unimon/guestabi"

// The architecture interface for architectures the bindings have not
// been ported to. The bindings run as a unikernel on amd64 and arm64;
// these declarations let the architecture-neutral kernel type-check and
// vet for other architectures (GOARCH=riscv64 go vet ./bindings) and let an
// ordinary program that imports the package build there (the device
// functions then return ErrNotUnikernel). Nothing here ever runs: a
// port replaces this file with its own cpu_ARCH.go, layout, traps, page
// tables, signal frame, timer, vDSO and system call table, and leaves
// its architecture out of the constraint above. The list is the
// interface (see doc.go).

type frame struct{}

type fpState struct{}

const (
	pageSize       = 4096
	privateEnd     = 0
	vdsoData       = 0
	vdsoImage      = 0
	scratchTLS     = 0
	tickHz         = 0
	unameMachine   = ""
	epollEventSize = 16
)

var (
	timerOn  bool
	sysTable [0]sysFn
)

func curFrame() *frame                                          { return nil }
func fpArea() *fpState                                          { return nil }
func cpuInit()                                                  {}
func cpuResume(t *thread)                                       {}
func cpuFlushTLB()                                              {}
func cpuHypercall(nr guestabi.Hypercall, arg uintptr)           {}
func cpuCycles() uint64                                         { return 0 }
func cpuRandom() (uint64, bool)                                 { return 0, false }
func cpuHWCap() uint64                                          { return 0 }
func cpuSyscallEnter(f *frame) (uintptr, sysArgs)               { return 0, sysArgs{} }
func cpuSetReturn(f *frame, r int64)                            {}
func cpuReturnValue(f *frame) int64                             { return 0 }
func cpuRestartSyscall(f *frame, nr uintptr)                    {}
func cpuCloneFrame(c, f *frame, stack uintptr)                  {}
func cpuInitFrame(f *frame, entry, sp uintptr)                  {}
func goEntry() uintptr                                          { return 0 }
func initTimer()                                                {}
func initVDSO()                                                 {}
func fatalTrap(f *frame, what string)                           {}
func faultSignal(f *frame) (sigInfo, bool)                      { return sigInfo{}, false }
func walk(va uintptr, create bool) *uint64                      { return nil }
func pteValid(e uint64) bool                                    { return false }
func pteFrame(e uint64) uintptr                                 { return 0 }
func pteUserPage(pa uintptr, write bool) uint64                 { return 0 }
func pteNoAccess(pa uintptr) uint64                             { return 0 }
func putStat(va uintptr, s *statInfo) bool                      { return false }
func getEpollEvent(va uintptr) (uint32, uint64, bool)           { return 0, 0, false }
func putEpollEvent(va uintptr, events uint32, data uint64) bool { return false }
func sigframePush(f *frame, t *thread, info sigInfo, sa *sigaction) bool {
	return false
}
func sigreturn(f *frame, t *thread) bool { return false }
