package sandbox

import (
	"runtime"

	"github.com/elastic/go-seccomp-bpf/arch"
)

// syscallNumbers is the name-to-number table (the library calls it SyscallNames) of the running architecture.
func syscallNumbers() map[string]int {
	info, err := arch.GetInfo(runtime.GOARCH)
	if err != nil {
		return nil
	}
	return info.SyscallNames
}
