package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/unimon/unimon/sandbox/internal/arenas"
	"golang.org/x/sys/unix"
)

// ErrUnsupported is returned (wrapped) by LockDown where the allowlist
// has not been measured: every architecture but amd64 and arm64, for now.
var ErrUnsupported = errors.New("sandbox: not supported here")

// ErrLocked is returned by a second LockDown: the filter is installed
// once per process.
var ErrLocked = errors.New("sandbox: already locked down")

// Option adjusts what LockDown leaves open.
type Option func(*settings)

type settings struct {
	allow []string
	keep  []int
}

// Allow adds system calls, by their Linux names, to the allowlist, for
// code the embedder still runs after LockDown: the gdb stub serving its
// socket passes SocketServerCalls. An unknown name makes LockDown fail.
func Allow(names ...string) Option {
	return func(s *settings) { s.allow = append(s.allow, names...) }
}

// Keep names inherited file descriptors LockDown must leave open, such
// as a tap opened by an orchestrator and passed as --net:NAME=@NN.
func Keep(fds ...int) Option {
	return func(s *settings) { s.keep = append(s.keep, fds...) }
}

var (
	lockMu sync.Mutex
	locked bool
)

// LockDown closes inherited fds, drops every capability, sets
// no_new_privs and installs the seccomp allowlist on every thread of the
// process (see the package documentation for what that forbids). It is
// one-way: there is no undo. On error the process may be partly locked
// (fds closed, capabilities dropped) but no filter is installed.
func LockDown(opts ...Option) error {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	lockMu.Lock()
	defer lockMu.Unlock()
	if locked {
		return ErrLocked
	}
	filter, err := Policy(s.allow...)
	if err != nil {
		return err
	}
	// Everything below runs on one thread, so the thread-local steps
	// (prctl, the filter before TSYNC copies it) happen on the same one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if err := primeRuntime(); err != nil {
		return err
	}
	if err := closeInherited(s.keep); err != nil {
		return err
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	arenas.Cap() // before the filter: see its comment
	if err := installSIGSYS(); err != nil {
		return err
	}
	if err := filter.install(); err != nil {
		return err
	}
	locked = true
	return nil
}

// errUnsupportedArch is ErrUnsupported for the running architecture.
func errUnsupportedArch() error {
	return fmt.Errorf("%w: the allowlist is measured on amd64 and arm64 only, not %s", ErrUnsupported, runtime.GOARCH)
}

// closeInherited closes every fd above 2 without FD_CLOEXEC that keep
// does not name. Go opens everything with O_CLOEXEC, so these are fds the
// parent leaked or passed on purpose; the guest needs none that it was
// not given through a device.
func closeInherited(keep []int) error {
	dir := "/proc/self/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("sandbox: listing open fds: %w", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 || slices.Contains(keep, fd) {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue // gone (ReadDir's own fd), or the process's own
		}
		if err := unix.Close(fd); err != nil {
			return fmt.Errorf("sandbox: closing inherited fd %d (%s): %w", fd, linkOf(filepath.Join(dir, e.Name())), err)
		}
	}
	return nil
}

func linkOf(path string) string {
	s, err := os.Readlink(path)
	if err != nil {
		return "?"
	}
	return s
}

// primeRuntime makes the Go runtime create what it otherwise creates on
// first use and the filter forbids: the netpoller's epoll instance and
// its wake-up eventfd, which timers and os.File deadlines need.
func primeRuntime() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: priming the Go netpoller: %w", err)
	}
	r.Close()
	w.Close()
	return nil
}
