//go:build amd64 || arm64

package sandbox

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigsysNrEnv names the number the "sigsys" helper makes the handler
// report.
const sigsysNrEnv = "UNIMON_SANDBOX_SIGSYS_NR"

// raiseSIGSYS installs the SIGSYS handler (no filter) and sends this
// thread a queued SIGSYS whose value sits where a seccomp SIGSYS has
// si_syscall (offset 24: sigval in the _rt form, _syscall in _sigsys),
// so the handler reports any number, as it would a denied call's.
func raiseSIGSYS() {
	nr, err := strconv.ParseUint(os.Getenv(sigsysNrEnv), 10, 32)
	if err == nil {
		err = installSIGSYS()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(4)
	}
	runtime.LockOSThread()
	var info [128]byte
	binary.NativeEndian.PutUint32(info[0:], uint32(unix.SIGSYS))
	binary.NativeEndian.PutUint32(info[8:], ^uint32(0)) // SI_QUEUE
	binary.NativeEndian.PutUint32(info[24:], uint32(nr))
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(unix.Getpid()), uintptr(unix.Gettid()), uintptr(unix.SIGSYS), uintptr(unsafe.Pointer(&info[0])), 0, 0)
	fmt.Fprintln(os.Stderr, "helper: the handler did not end the process:", errno)
	os.Exit(4)
}

// TestSIGSYSMessage checks the handler's line (built in assembly on the
// signal stack) for numbers of every kind: named calls, gaps in the
// table, numbers past it, the largest, and a program name too long for
// the line's head.
func TestSIGSYSMessage(t *testing.T) {
	gap := 0
	for gap < len(native.names) && native.names[gap] != "" {
		gap++
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 200))
	if err := os.Symlink(os.Args[0], long); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prog string
		nr   uint64
		name string
	}{
		{os.Args[0], 0, native.names[0]},
		{os.Args[0], 9, native.names[9]},
		{os.Args[0], uint64(len(native.names) - 1), native.names[len(native.names)-1]},
		{os.Args[0], uint64(gap), "unknown"},
		{os.Args[0], uint64(len(native.names)), "unknown"},
		{os.Args[0], 1000, "unknown"},
		{os.Args[0], 1<<32 - 1, "unknown"},
		{long, 1, native.names[1]},
		{os.Args[0], uint64(deniedNumbers["openat"]), "openat"},
	}
	for _, tt := range tests {
		cmd := exec.Command(tt.prog, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=sigsys", fmt.Sprintf("%s=%d", sigsysNrEnv, tt.nr))
		var errb strings.Builder
		cmd.Stderr = &errb
		cmd.Run()
		prog := filepath.Base(tt.prog)
		prog = prog[:min(len(prog), sigsysHeadMax-len(": sandbox: system call "))]
		want := fmt.Sprintf("%s: sandbox: system call %s (%d) is not allowed after LockDown (seccomp); exiting\n", prog, tt.name, tt.nr)
		if code := cmd.ProcessState.ExitCode(); code != 1 || errb.String() != want {
			t.Errorf("number %d: status %d, stderr %q; want 1, %q", tt.nr, code, errb.String(), want)
		}
	}
	// The buffer holds the longest line: the head, a name, " (", ten
	// digits (written back from the end of the buffer, past the rest)
	// and the tail.
	longest := 0
	for _, a := range arches {
		for _, n := range a.names {
			longest = max(longest, len(n))
		}
	}
	if sigsysHeadMax+longest+2 > sigsysBuf-10 || sigsysHeadMax+longest+2+10+len(sigsysTail) > sigsysBuf {
		t.Errorf("a line of up to %d bytes does not fit the handler's %d", sigsysHeadMax+longest+2+10+len(sigsysTail), sigsysBuf)
	}
}
