package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The lock-down is one-way, so every case runs in a child: this test
// binary again, with helperEnv naming the case.
const helperEnv = "UNIMON_SANDBOX_HELPER"

// helpers are what a locked-down child does; each prints "ok" if it got
// through.
var helpers = map[string]func() error{
	// The Go runtime keeps working: goroutines on new threads, GC,
	// timers, channel sleeps, maps.
	"runtime": func() error {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // forces new threads: clone under the filter
				b := make([]byte, 1<<20<<(i%4))
				b[len(b)-1] = 1
				time.Sleep(time.Millisecond)
			}()
		}
		wg.Wait()
		runtime.GC()
		return nil
	},
	// Many new threads at once, each blocked in a system call so that
	// the runtime needs yet another: in a cgo binary (this one, since
	// package sandbox links internal/arenas) each comes from
	// pthread_create and meets glibc malloc with its signals blocked,
	// and the ninth arena used to make glibc open a /sys file under the
	// filter, a SIGSYS the thread could not take: killed without a word.
	"threads": func() error {
		var wg sync.WaitGroup
		for range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ts := unix.NsecToTimespec(int64(50 * time.Millisecond))
				unix.Nanosleep(&ts, nil)
			}()
		}
		wg.Wait()
		return nil
	},
	// Threads ending under the filter, as a goroutine that locked its
	// thread and returns without unlocking ends it: the Go runtime's
	// mexit and, in a cgo binary, glibc's thread exit run with every
	// signal blocked.
	"thread-exits": func() error {
		for range 4 {
			var wg sync.WaitGroup
			for i := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
					b := make([]byte, 64<<10<<(i%4))
					b[len(b)-1] = 1
				}()
			}
			wg.Wait()
			runtime.GC()
		}
		return nil
	},
	"open":   func() error { _, err := os.Open("/etc/hostname"); return err },
	"socket": func() error { _, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); return err },
	// execve itself: syscall.Exec first restores the fd limit Go raised
	// at start (prlimit64 on arm64), which the filter denies as well.
	"execve": func() error {
		path, err := unix.BytePtrFromString("/bin/true")
		if err != nil {
			return err
		}
		argv := []*byte{path, nil}
		_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&argv[0])), 0)
		return errno
	},
	// fds 3 to 3+numInherited-1 are an inherited pipe's write end
	// (ExtraFiles, without FD_CLOEXEC, as a careless parent leaves them):
	// LockDown closed them all.
	"inherited": func() error {
		for fd := 3; fd < 3+numInherited; fd++ {
			if _, err := unix.Write(fd, []byte("x")); err != unix.EBADF {
				return fmt.Errorf("write to inherited fd %d: %v, want EBADF", fd, err)
			}
		}
		return nil
	},
	"exec-mmap": func() error {
		_, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		return err
	},
	"mprotect-exec": func() error {
		b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return err
		}
		return unix.Mprotect(b, unix.PROT_READ|unix.PROT_EXEC)
	},
	"fork": func() error {
		_, _, errno := unix.RawSyscall(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0)
		return errno
	},
	"ioctl-tap": func() error { return unix.IoctlSetInt(1, unix.TUNSETIFF, 0) },
	"ptrace":    func() error { return unix.PtraceAttach(1) },
	// A call the gdb stub would make, allowed with Allow.
	"allowed": func() error {
		_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, 1, 0, 0)
		if errno != unix.ENOTSOCK && errno != unix.EFAULT && errno != unix.EBADF {
			return fmt.Errorf("getsockname: %v", errno)
		}
		return nil
	},
	// Started with an ambient capability (runHelper), which capset's
	// emptied permitted and inheritable sets clear with them.
	"ambient": func() error {
		status, err := procStatus()
		if err != nil {
			return err
		}
		if !strings.Contains(status, "CapAmb:\t0000000000000000") {
			return fmt.Errorf("an ambient capability is left:\n%s", status)
		}
		return nil
	},
	"caps": func() error {
		status, err := procStatus()
		if err != nil {
			return err
		}
		for _, want := range []string{"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapAmb:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
			if !strings.Contains(status, want) {
				return fmt.Errorf("status lacks %q:\n%s", want, status)
			}
		}
		return nil
	},
}

// procStatus is read before LockDown in the "caps" case... except that
// reading it needs open: the child reads it through an fd opened first.
var statusFile *os.File

func procStatus() (string, error) {
	if statusFile == nil {
		return "", errors.New("no status fd")
	}
	buf := make([]byte, 8192)
	n, err := statusFile.ReadAt(buf, 0)
	if n == 0 {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		if name == "sigsys" {
			raiseSIGSYS()
		}
		var opts []Option
		if name == "allowed" {
			opts = append(opts, Allow(SocketServerCalls...))
		}
		if name == "caps" || name == "ambient" {
			// The locking thread's own status: its bounding set is the
			// one LockDown empties, and in a cgo binary (this one) only
			// its other sets are emptied.
			runtime.LockOSThread()
			statusFile, _ = os.Open("/proc/thread-self/status")
		}
		if name == "ambient" {
			if st, _ := procStatus(); !strings.Contains(st, "CapAmb:\t0000000000001000") {
				fmt.Fprintf(os.Stderr, "no ambient CAP_NET_ADMIN before LockDown:\n%s", st)
				os.Exit(5)
			}
		}
		if err := LockDown(opts...); err != nil {
			fmt.Fprintln(os.Stderr, "LockDown:", err)
			os.Exit(3)
		}
		if err := helpers[name](); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(4)
		}
		fmt.Println("ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(t *testing.T, name string, extra ...*os.File) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.ExtraFiles = extra
	if name == "ambient" {
		cmd.SysProcAttr = &syscall.SysProcAttr{AmbientCaps: []uintptr{unix.CAP_NET_ADMIN}}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func TestLockDown(t *testing.T) {
	tests := []struct {
		name   string
		denied string // the call the one-line message names; "" for none
	}{
		{"runtime", ""},
		{"caps", ""},
		{"ambient", ""},
		{"threads", ""},
		{"thread-exits", ""},
		{"allowed", ""},
		{"open", "openat"},
		{"socket", "socket"},
		{"execve", "execve"},
		{"exec-mmap", "mmap"},
		{"mprotect-exec", "mprotect"},
		{"fork", "clone"},
		{"ioctl-tap", "ioctl"},
		{"ptrace", "ptrace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, status := runHelper(t, tt.name)
			if tt.denied == "" {
				if status != 0 || out != "ok\n" {
					t.Fatalf("status %d, stdout %q, stderr %q", status, out, errs)
				}
				return
			}
			want := fmt.Sprintf("sandbox: system call %s (%d) is not allowed after LockDown (seccomp); exiting\n", tt.denied, deniedNumbers[tt.denied])
			if status != 1 || out != "" || !strings.HasSuffix(errs, want) || strings.Count(errs, "\n") != 1 {
				t.Fatalf("status %d, stdout %q, stderr %q; want status 1 and one line ending %q", status, out, errs, want)
			}
		})
	}
}

// numInherited is how many fds TestInheritedFDsClosed passes: more than
// one getdents64 call of closeInherited's buffer lists.
const numInherited = 300

// TestInheritedFDsClosed passes the child fds without FD_CLOEXEC (as a
// careless parent would) and checks the child cannot use them after
// LockDown.
func TestInheritedFDsClosed(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	out, errs, status := runHelper(t, "inherited", slices.Repeat([]*os.File{w}, numInherited)...)
	if status != 0 || out != "ok\n" {
		t.Fatalf("status %d, stdout %q, stderr %q", status, out, errs)
	}
}

func TestAllowUnknownName(t *testing.T) {
	if _, err := Policy("no_such_call"); err == nil {
		t.Fatal("Policy accepted an unknown system call")
	}
}
