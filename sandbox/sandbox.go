package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

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

	primeRuntime()
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
// not given through a device. The fds are listed with getdents64 into a
// buffer on the stack, not os.ReadDir, which would allocate and sort an
// entry per fd on every start of the CLI.
func closeInherited(keep []int) error {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sandbox: listing open fds: %w", err)
	}
	defer unix.Close(dir)
	var buf [2048]byte
	for {
		n, err := unix.Getdents(dir, buf[:])
		if err != nil {
			return fmt.Errorf("sandbox: listing open fds: %w", err)
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
		for ent := buf[:n]; len(ent) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(ent[16:]))
			if reclen < 19 || reclen > len(ent) {
				return fmt.Errorf("sandbox: listing open fds: a directory entry of %d bytes", reclen)
			}
			fd, ok := atoi(ent[19:reclen])
			ent = ent[reclen:]
			if !ok || fd <= 2 || fd == dir || slices.Contains(keep, fd) {
				continue // ".", "..", stdio, the listing itself, or kept
			}
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			if err != nil || flags&unix.FD_CLOEXEC != 0 {
				continue // gone, or the process's own
			}
			if err := unix.Close(fd); err != nil {
				return fmt.Errorf("sandbox: closing inherited fd %d (%s): %w", fd, linkOf(fd), err)
			}
		}
	}
}

// atoi parses the NUL-terminated decimal name of an fd.
func atoi(name []byte) (int, bool) {
	n, digits := 0, 0
	for _, c := range name {
		if c == 0 {
			break
		}
		if c < '0' || c > '9' || digits == 9 {
			return 0, false
		}
		n, digits = n*10+int(c-'0'), digits+1
	}
	return n, digits > 0
}

func linkOf(fd int) string {
	s, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "?"
	}
	return s
}

// primeRuntime makes the Go runtime create what it otherwise creates on
// first use and the filter forbids: the netpoller's epoll instance and
// its wake-up eventfd, which timers and os.File deadlines need. Adding a
// timer starts the netpoller (the runtime's timers rely on it); in the
// CLI it has long been running (opening the unikernel file started it),
// and then this costs one system call (the runtime wakes a thread for
// the new timer), where a throw-away pipe cost seven.
func primeRuntime() {
	time.AfterFunc(time.Hour, func() {}).Stop()
}
