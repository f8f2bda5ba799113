package main

import (
	"errors"

	"github.com/unimon/unimon/sandbox"
)

// coreFileCalls are what writing a core file into the --dumpcore
// directory takes after the lock-down: creating it (openat) and what
// os.OpenFile does with a new file (fcntl, fstat or newfstatat, and
// epoll_ctl, which a regular file refuses), the sparse writes (mincore
// to skip pages never touched, then pwrite64) and its size (ftruncate).
// Found by tests/sandbox's TestDebugOptionsUnderFilter. (newfstatat is
// the kernel's name for os.Stat's call on amd64 and arm64 alike.)
var coreFileCalls = []string{"openat", "fcntl", "fstat", "newfstatat", "epoll_ctl", "mincore", "ftruncate"}

// lockDownProcess applies sandbox.LockDown to the CLI process, keeping
// the fds of the net devices (a pre-opened tap, --net:NAME=@NN, is an
// inherited fd). There is no option to skip it; the debugging options
// widen it by what they need: --gdb serves gdb's connection, accepted
// before, and sets vCPU state (every ioctl), --dumpcore creates its
// file. Where the allowlist is not measured yet (every architecture but
// amd64 and arm64) the CLI runs without it, as the README's Security
// model section says.
func lockDownProcess(o *runOptions, d openedDevices) error {
	var keep []int
	for _, n := range d.net {
		keep = append(keep, n.ReadyFD())
	}
	opts := []sandbox.Option{sandbox.Keep(keep...)}
	if o.debug.gdb {
		// gdb's connection was accepted before the lock-down: the stub
		// only reads and writes it (read, write) and closes it, which
		// takes it off Go's netpoller (epoll_ctl).
		opts = append(opts, sandbox.Allow("ioctl", "epoll_ctl"))
	}
	if o.debug.dumpCore != "" {
		opts = append(opts, sandbox.Allow(coreFileCalls...))
	}
	err := sandbox.LockDown(opts...)
	if errors.Is(err, sandbox.ErrUnsupported) {
		return nil
	}
	return err
}
