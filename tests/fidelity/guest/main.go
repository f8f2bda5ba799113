// Command guest is the Go unikernel of the fidelity tests: each
// subcommand does one thing a Go program does on Linux (fault, recurse,
// read its environment, sync a disk) and prints what Go prints.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/unimon/unimon/bindings"
)

type point struct{ x, y int }

// named has a String method that dereferences its receiver: fmt
// recovers the nil-pointer panic and prints <nil>.
type named struct{ name string }

func (n *named) String() string { return "named " + n.name }

var sink int

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: guest CMD [ARGS]")
		os.Exit(1)
	}
	arg := func(i int) string {
		if len(os.Args) > i {
			return os.Args[i]
		}
		return ""
	}
	switch os.Args[1] {
	case "nil":
		fmt.Println("recovered:", recovered(func() { var p *point; sink = p.y }))
	case "nilpanic":
		var p *point
		sink = p.y
	case "stringer":
		var n *named
		fmt.Println("stringer:", n)
		fmt.Printf("stringer: %v %s\n", n, n)
	case "divzero":
		zero, _ := strconv.Atoi(arg(2))
		fmt.Println("recovered:", recovered(func() { sink = 7 / zero }))
	case "wild":
		// An address far from nil: the panic names it.
		fmt.Println("recovered:", recovered(func() { sink = *(*int)(unsafe.Add(unsafe.Pointer(nil), 0xdead0000)) }))
	case "ill":
		ill()
	case "gp":
		privileged()
	case "cpu":
		// golang.org/x/sys/cpu reads AT_HWCAP from /proc/self/auxv; the
		// program's own MRS of ID_AA64ISAR0_EL1 traps and the kernel
		// emulates it: both must tell the same (AES: field 7:4).
		fmt.Printf("cpu: arm64 fp=%v asimd=%v aes: hwcap=%v mrs=%v\n",
			cpu.ARM64.HasFP, cpu.ARM64.HasASIMD, cpu.ARM64.HasAES, idISAR0()>>4&0xf >= 1)
	case "goexit":
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer fmt.Println("goexit: deferred call ran")
			runtime.Goexit()
			fmt.Println("goexit: not reached")
		}()
		wg.Wait()
		fmt.Println("goexit: main goes on")
	case "deep":
		n, _ := strconv.Atoi(arg(2))
		fmt.Println("deep:", recurse(n))
	case "overflow":
		if n, err := strconv.Atoi(arg(2)); err == nil {
			debug.SetMaxStack(n)
		}
		fmt.Println(forever(1))
	case "env":
		for _, k := range os.Args[2:] {
			v, ok := os.LookupEnv(k)
			fmt.Printf("env: %s=%q %v\n", k, v, ok)
		}
	case "rlimit":
		var r syscall.Rlimit
		err := syscall.Getrlimit(syscall.RLIMIT_STACK, &r)
		fmt.Printf("rlimit: stack cur=%d err=%v\n", r.Cur, err)
	case "stdin":
		b, err := io.ReadAll(os.Stdin)
		fmt.Printf("stdin: %d bytes, err=%v\n", len(b), err)
	case "sync":
		f, err := bindings.OpenBlock("disk")
		if err == nil {
			_, err = f.WriteAt([]byte("synced"), 0)
		}
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = syscall.Fdatasync(int(f.Fd()))
		}
		fmt.Println("sync:", err)
	case "files":
		files()
	case "nohandler":
		// SIGSEGV back to SIG_DFL (the runtime offers no way): a fault is
		// then the crash report.
		var act [4]uint64
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
			fmt.Println("rt_sigaction:", e)
		}
		var p *point
		sink = p.y
	default:
		fmt.Println("unknown command", os.Args[1])
		os.Exit(1)
	}
}

// recovered runs f and returns what it panicked with.
func recovered(f func()) (v any) {
	defer func() {
		v = recover()
		if err, ok := v.(runtime.Error); ok {
			v = "runtime.Error: " + err.Error()
		}
	}()
	f()
	return nil
}

//go:noinline
func recurse(n int) int {
	if n == 0 {
		return 0
	}
	return recurse(n-1) + 1
}

//go:noinline
func forever(n int) int { return forever(n+1) + 1 }

// files uses the packed file tree (read-only, the working directory) and
// /tmp (writable) the way programs and tests do.
func files() {
	wd, err := os.Getwd()
	fmt.Printf("files: wd=%s err=%v\n", wd, err)
	b, err := os.ReadFile("hello.txt")
	fmt.Printf("files: hello.txt=%q err=%v\n", b, err)
	ents, err := os.ReadDir("sub")
	for _, e := range ents {
		fmt.Printf("files: sub/%s dir=%v\n", e.Name(), e.IsDir())
	}
	_, err = os.Create("new.txt")
	fmt.Println("files: create in the tree:", err)
	dir, err := os.MkdirTemp("", "fid-")
	fmt.Println("files: MkdirTemp:", strings.HasPrefix(dir, "/tmp/fid-"), err)
	f, err := os.CreateTemp(dir, "x-*.txt")
	if err == nil {
		_, err = f.WriteString(strings.Repeat("0123456789", 1000))
		f.Close()
	}
	fmt.Println("files: CreateTemp and write:", err)
	to := filepath.Join(dir, "renamed.txt")
	err = os.Rename(f.Name(), to)
	st, err2 := os.Stat(to)
	fmt.Println("files: rename:", err, err2, st != nil && st.Size() == 10000)
	b, err = os.ReadFile(to)
	fmt.Println("files: read back:", len(b), err)
	link := filepath.Join(dir, "link")
	err = os.Symlink("renamed.txt", link)
	target, err2 := os.Readlink(link)
	st, err3 := os.Stat(link)
	lst, err4 := os.Lstat(link)
	real, err5 := filepath.EvalSymlinks(link)
	fmt.Println("files: symlink:", err, target, err2, st != nil && st.Size() == 10000, err3,
		lst != nil && lst.Mode()&os.ModeSymlink != 0, err4, real == to, err5)
	err = os.WriteFile(os.DevNull, []byte("gone"), 0)
	b, err2 = os.ReadFile(os.DevNull)
	rnd := make([]byte, 16)
	rf, err3 := os.Open("/dev/urandom")
	if err3 == nil {
		_, err3 = io.ReadFull(rf, rnd)
		rf.Close()
	}
	fmt.Println("files: dev:", err, len(b), err2, err3, !bytes.Equal(rnd, make([]byte, 16)))
	err = os.Remove(dir)
	fmt.Println("files: remove a non-empty directory fails:", err != nil)
	err = os.RemoveAll(dir)
	_, err2 = os.Stat(dir)
	fmt.Println("files: RemoveAll:", err, os.IsNotExist(err2))
}
