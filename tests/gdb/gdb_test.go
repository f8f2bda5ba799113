//go:build linux && amd64

package gdb

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/guestbuild"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

var tmpDir string

func TestMain(m *testing.M) { guestbuild.MainWithTempDir(m, "unimon-gdb-", &tmpDir) }

// Guests are built once per test binary.
var (
	cOnce           sync.Once
	cPath           string
	cErr            error
	goOnce          = guestbuild.Once{Options: gobuild.Options{Package: "./tests/gdb/guest", Dir: "../.."}}
	goFaultAddrText = "main.go:28"
)

func cGuest(t *testing.T) string {
	t.Helper()
	cOnce.Do(func() {
		dir := filepath.Join(tmpDir, "c")
		if cErr = os.Mkdir(dir, 0o755); cErr == nil {
			cPath, cErr = microguest.BuildC(dir)
		}
	})
	if cErr != nil {
		t.Fatalf("building the C guest: %v", cErr)
	}
	return cPath
}

func goGuest(t *testing.T) string {
	t.Helper()
	return goOnce.Path(t, tmpDir, "guest.hvt")
}

func needGDB(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Fatalf("gdb is not installed (make deps installs it): %v", err)
	}
}

// noLeaks fails t if the test leaves file descriptors or goroutines behind.
func noLeaks(t *testing.T) {
	t.Helper()
	leakcheck.Check(t)
}

// result is how a VM's Run ended.
type result struct {
	status int
	err    error
	core   string
}

// startVM runs kernel with args for the gdb that connects to a loopback
// listener on a free port, and returns the port's address and Run's
// result to come (New's error, if New fails).
func startVM(t *testing.T, kernel string, mem uint64, args ...string) (string, <-chan result) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		vm, err := monitor.New(monitor.Config{Kernel: kernel, Memory: mem, Args: args, GDB: c})
		if err != nil {
			c.Close()
			done <- result{err: err}
			return
		}
		status, err := vm.Run(context.Background())
		vm.Close()
		done <- result{status: status, err: err}
	}()
	return ln.Addr().String(), done
}

// gdbBatch runs gdb on kernel in batch mode with cmds after connecting to
// addr and returns what it printed.
func gdbBatch(t *testing.T, kernel, addr string, cmds ...string) string {
	t.Helper()
	args := []string{"-nx", "-q", "-batch",
		"-iex", "set auto-load python-scripts off", "-iex", "set pagination off", "-iex", "set confirm off",
		"-ex", "target remote " + addr}
	for _, c := range cmds {
		args = append(args, "-ex", c)
	}
	args = append(args, kernel)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gdb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	return string(out)
}

func wait(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(3 * time.Minute):
		t.Fatal("the VM did not end")
	}
	return result{}
}

// wantExit waits for the VM and fails t unless the guest halted with
// status.
func wantExit(t *testing.T, done <-chan result, status int) {
	t.Helper()
	if r := wait(t, done); r.err != nil || r.status != status {
		t.Fatalf("Run = %d, %v; want %d, nil", r.status, r.err, status)
	}
}

// wantErr waits for the VM and fails t unless Run's error is target.
func wantErr(t *testing.T, done <-chan result, target error) {
	t.Helper()
	if r := wait(t, done); !errors.Is(r.err, target) {
		t.Fatalf("Run = %d, %v; want %v", r.status, r.err, target)
	}
}

// expect checks that out matches every pattern, in order.
func expect(t *testing.T, out string, patterns ...string) {
	t.Helper()
	rest := out
	for _, p := range patterns {
		loc := regexp.MustCompile(p).FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("gdb output lacks %q (after the earlier matches):\n%s", p, out)
		}
		rest = rest[loc[1]:]
	}
}

// TestCGuestSession is the session a C unikernel's developer types:
// attach, break by name, continue, bt, print, next, step, continue to
// the exit status.
func TestCGuestSession(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := cGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 8<<20)
	out := gdbBatch(t, kernel, addr,
		"break tick", "continue", "bt", "print ticks", "next", "print ticks",
		"continue", "print n", "finish", "step", "info registers rip cr3", "delete",
		"watch ticks", "continue", "delete", "continue")
	expect(t, out,
		`_start \(bi=0x10000\) at .*guest.c`, // stopped before the first instruction
		`Breakpoint 1 at 0x[0-9a-f]+: file .*guest.c`,
		`Breakpoint 1, tick \(n=n@entry=1\)`,
		`#0 +tick \(n=n@entry=1\)`, `#1 +0x[0-9a-f]+ in _start`,
		`\$1 = 0`,
		`return ticks;`, `\$2 = 1`,
		`Breakpoint 1, tick \(n=n@entry=2\)`, `\$3 = 2`,
		`Value returned is \$4 = 3`, `Breakpoint 1, tick \(n=n@entry=3\)`, `cr3 +0x2000`,
		`atchpoint 2: ticks`, `Old value = 3\s+New value = 6`,
		`exited with code 07`)
	wantExit(t, done, 7)
}

// TestGoGuestSession is the same session on a Go unikernel, whose
// program runs at CPL3 on goroutine stacks far above guest-physical
// memory: attach before the first instruction, break on a Go function by
// name, bt through Go frames, print a Go global, next, step, a watchpoint
// fires, continue to the exit status.
func TestGoGuestSession(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := goGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 64<<20)
	out := gdbBatch(t, kernel, addr,
		"break main.tick", "continue", "bt", "print main.Ticks", "print/x $sp", "x/2gx $sp",
		"next", "next", "print main.Ticks", "step", "step",
		"watch main.Ticks", "continue", "continue", "delete", "continue")
	expect(t, out,
		`bindings.rt0 \(\) at .*cpu_amd64.s`, // before the first instruction
		`Breakpoint 1 at 0x[0-9a-f]+: file .*main.go, line 21`,
		`Breakpoint 1, main.tick \(n=1,`,
		`#0 +main.tick \(n=1,`, `#1 +0x[0-9a-f]+ in main.main \(\) at .*main.go:33`,
		`\$1 = 0`,
		`\$2 = 0x[0-9a-f]{9,}`, // a goroutine stack, above 4 GiB
		`0x[0-9a-f]{9,}.*:\s+0x[0-9a-f]+\s+0x[0-9a-f]+`,
		`22\s+return Ticks`, `main.main \(\) at .*main.go:32`, `\$3 = 1`,
		`33\s+tick\(i\)`, `main.tick \(n=2,`,
		`atchpoint 2: main.Ticks`, `Old value = 1\s+New value = 3`,
		`exited with code 07`)
	wantExit(t, done, 7)
}

// runForCore runs kernel to its end with DumpCore and returns the core.
func runForCore(t *testing.T, kernel string, mem uint64, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	vm, err := monitor.New(monitor.Config{Kernel: kernel, Memory: mem, Args: args, DumpCore: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	status, _ := vm.Run(context.Background())
	core, err := vm.CoreFile()
	if err != nil || core == "" {
		t.Fatalf("CoreFile = %q, %v", core, err)
	}
	if filepath.Dir(core) != dir || !strings.HasPrefix(filepath.Base(core), "core.unimon.") {
		t.Fatalf("core file %s: want core.unimon.* in %s", core, dir)
	}
	return status, core
}

func gdbCore(t *testing.T, kernel, core string) string {
	t.Helper()
	out, err := exec.Command("gdb", "-nx", "-q", "-batch", "-iex", "set auto-load python-scripts off",
		kernel, core, "-ex", "bt").CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	return string(out)
}

// TestCoreAbort: the C guest aborts as Solo5's solo5_abort does after a
// trap (HALT 255, trap registers as cookie); the core shows the frames
// and is sparse.
func TestCoreAbort(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := cGuest(t)
	noLeaks(t)
	const mem = 512 << 20
	status, core := runForCore(t, kernel, mem, "abort")
	if status != 255 {
		t.Fatalf("status %d, want 255", status)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(core, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size < mem/2 || st.Blocks*512 > 4<<20 {
		t.Errorf("core of a %d MiB guest: %d bytes long, %d bytes on disk; want it long and sparse", mem>>20, st.Size, st.Blocks*512)
	}
	expect(t, gdbCore(t, kernel, core),
		`Program terminated with signal SIGABRT`, `#0 .* in crash \(\)`, `#1 .* in _start`)
}

// TestCoreGoFault: a Go unikernel dereferences unmapped memory at
// 0x700000000000; the core shows the faulting Go function with that
// argument, and its caller.
func TestCoreGoFault(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := goGuest(t)
	noLeaks(t)
	status, core := runForCore(t, kernel, 64<<20, "fault")
	if status != 255 {
		t.Fatalf("status %d, want 255", status)
	}
	// The argument is right too: the bindings' cookie carries every
	// register of the faulting instruction, not only upstream's few.
	expect(t, gdbCore(t, kernel, core), `#0 .*main\.fault \(addr=123145302310912,.*`+goFaultAddrText, `#1 .* in main\.main \(\)`)
}

// TestCoreNames: cores of successive guests of one process never
// overwrite each other.
func TestCoreNames(t *testing.T) {
	kvmtest.Require(t)
	kernel := cGuest(t)
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 2 {
		vm, err := monitor.New(monitor.Config{Kernel: kernel, Memory: 8 << 20, Args: []string{"abort"}, DumpCore: dir})
		if err != nil {
			t.Fatal(err)
		}
		vm.Run(context.Background())
		core, err := vm.CoreFile()
		vm.Close()
		if err != nil || seen[core] {
			t.Fatalf("core %q, %v (seen before: %v)", core, err, seen[core])
		}
		seen[core] = true
	}
}

// TestDumpCoreDirRefused: a directory that cannot take a core is refused
// before the guest runs.
func TestDumpCoreDirRefused(t *testing.T) {
	kernel := cGuest(t)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), file} {
		_, err := monitor.New(monitor.Config{Kernel: kernel, Memory: 8 << 20, DumpCore: dir})
		if !errors.Is(err, monitor.ErrConfig) {
			t.Errorf("DumpCore %s: New = %v, want ErrConfig", dir, err)
		}
	}
}

// TestHostilePageTables: the guest points CR3 at garbage and crashes;
// gdb sees the fault, memory reads through the garbage fail cleanly,
// registers still read, and the run ends with the guest's fault.
func TestHostilePageTables(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := cGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 8<<20, "garbage")
	out := gdbBatch(t, kernel, addr, "continue", "x/2gx 0x100000", "x/2gx 0xffff800000000000",
		"print/x $cr3", "continue")
	expect(t, out, `Program received signal SIGSEGV`,
		`Cannot access memory at address 0x100000`,
		`Cannot access memory at address 0xffff800000000000`,
		`\$1 = 0x[0-9a-f]+`, `terminated with signal SIGSEGV`)
	wantErr(t, done, monitor.ErrGuest)
}

// TestDisconnect: gdb killed mid-session (breakpoints set, guest
// stopped) kills the guest, as documented, and nothing else.
func TestDisconnect(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := cGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 8<<20, "spin")
	cmd := exec.Command("gdb", "-nx", "-q", "-batch", "-iex", "set confirm off",
		"-ex", "target remote "+addr, "-ex", "break tick", "-ex", "continue",
		"-ex", "shell kill -9 $PPID", kernel)
	cmd.Run() // gdb dies of its own kill
	wantErr(t, done, monitor.ErrKilled)
}

// TestInterrupt: Ctrl-C (byte 0x03) stops a guest with SIGINT, whether
// it spins at CPL0 or sleeps in POLL (an hour at a time: the monitor is
// waiting, not the vCPU); the registers read, the guest goes on as it
// was, and kill ends it. A POLL cut short by Ctrl-C is made again when
// gdb continues, so the guest never sees it return early: its tick count
// stays at the 6 of its start. gdb's batch mode cannot interrupt, so the
// test speaks the protocol itself.
func TestInterrupt(t *testing.T) {
	kvmtest.Require(t)
	kernel := cGuest(t)
	ticks := symbolAddr(t, kernel, "ticks")
	for _, mode := range []string{"spin", "yield"} {
		t.Run(mode, func(t *testing.T) {
			noLeaks(t)
			addr, done := startVM(t, kernel, 8<<20, mode)
			c := dial(t, addr)
			c.send("?")
			if p := c.recv(); !strings.HasPrefix(p, "T05") {
				t.Fatalf("initial stop %q, want T05...", p)
			}
			interrupt := func(after time.Duration) uint64 {
				c.send("c")
				time.Sleep(after) // lets the guest reach its POLL; not a timing check
				c.Write([]byte{0x03})
				if p := c.recv(); !strings.HasPrefix(p, "T02") {
					t.Fatalf("stop after Ctrl-C %q, want T02...", p)
				}
				c.send("g")
				if p := c.recv(); len(p) != 2*600 {
					t.Fatalf("registers: %d hex digits, want %d", len(p), 2*600)
				}
				c.send(fmt.Sprintf("m%x,8", ticks))
				le, err := strconv.ParseUint(c.recv(), 16, 64)
				if err != nil {
					t.Fatalf("reading ticks: %v", err)
				}
				return bits.ReverseBytes64(le)
			}
			// Until the guest has ticked its first 6 (the yield guest is
			// then in, or about to enter, its first POLL)...
			for interrupt(0) < 6 {
			}
			// ... then twice more, giving it time to be asleep.
			for i := 0; i < 2; i++ {
				if n := interrupt(20 * time.Millisecond); mode == "yield" && n != 6 {
					t.Errorf("ticks = %d after Ctrl-C during POLL, want 6: the guest saw its POLL return early", n)
				}
			}
			c.send("k")
			wantErr(t, done, monitor.ErrKilled)
		})
	}
}

// symbolAddr is the address of symbol name in the ELF file.
func symbolAddr(t *testing.T, file, name string) uint64 {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("%s: no symbol %s", file, name)
	return 0
}

// TestDetach: after detach the guest runs on to its end, without
// breakpoints, and Run returns its status.
func TestDetach(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := cGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 8<<20)
	out := gdbBatch(t, kernel, addr, "break tick", "continue", "detach")
	expect(t, out, `Breakpoint 1, tick`, `Inferior 1 \(Remote target\) detached`)
	wantExit(t, done, 7)
}

// TestGoBuildKeepsDWARF: unimon build leaves gdb what it needs.
func TestGoBuildKeepsDWARF(t *testing.T) {
	f, err := elf.Open(goGuest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range []string{".debug_info", ".debug_line", ".debug_frame", ".symtab", ".gopclntab"} {
		if f.Section(s) == nil {
			t.Errorf("the unikernel has no %s section", s)
		}
	}
}

// TestGoGoroutines: Go's own gdb extension (runtime-gdb.py, which the
// unikernel names in .debug_gdb_scripts) lists the goroutines and walks
// one's stack.
func TestGoGoroutines(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := goGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 64<<20)
	// The toolchain that built the unikernel, whose runtime-gdb.py it names.
	env, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(env))
	out, err := exec.Command("gdb", "-nx", "-q", "-batch",
		"-iex", "add-auto-load-safe-path "+filepath.Join(goroot, "src", "runtime"),
		"-iex", "set pagination off", "-iex", "set confirm off",
		"-ex", "target remote "+addr, "-ex", "break main.tick", "-ex", "continue",
		"-ex", "info goroutines", "-ex", "goroutine 1 bt", "-ex", "kill", kernel).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	expect(t, string(out), `Breakpoint 1, main.tick`, `\* 1 running`, `#0 +main.tick`, `#1 .* in main.main`)
	wantErr(t, done, monitor.ErrKilled)
}

// TestHostileDebugTrap: a guest that hands the monitor a debug trap with
// a frame outside memory stops with SIGSEGV under gdb and can go on; a
// guest run without a debugger that does so ends with a guest fault.
func TestHostileDebugTrap(t *testing.T) {
	kvmtest.Require(t)
	needGDB(t)
	kernel := cGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 8<<20, "trap")
	out := gdbBatch(t, kernel, addr, "continue", "print $pc", "continue")
	expect(t, out, `Program received signal SIGSEGV`, `\$1 = .*_start`, `exited with code 07`)
	wantExit(t, done, 7)

	vm, err := monitor.New(monitor.Config{Kernel: kernel, Memory: 8 << 20, Args: []string{"trap"}})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if _, err := vm.Run(context.Background()); !errors.Is(err, monitor.ErrGuest) || !strings.Contains(err.Error(), "0x5ff") {
		t.Fatalf("without gdb: Run error %v, want a guest fault naming port 0x5ff", err)
	}
}

// rawClient speaks the remote protocol directly, for what gdb's batch
// mode cannot do (Ctrl-C) or would never send.
type rawClient struct {
	net.Conn
	t *testing.T
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{Conn: c, t: t, r: bufio.NewReader(c)}
}

func (c *rawClient) send(p string) {
	c.t.Helper()
	var sum byte
	for i := range len(p) {
		sum += p[i]
	}
	if _, err := fmt.Fprintf(c, "$%s#%02x", p, sum); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) recv() string {
	c.t.Helper()
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			c.t.Fatal(err)
		}
		if b != '$' {
			continue // acks
		}
		p, err := c.r.ReadString('#')
		if err != nil {
			c.t.Fatal(err)
		}
		c.r.Discard(2)
		c.Write([]byte("+"))
		return strings.TrimSuffix(p, "#")
	}
}

// TestHostileClient: a client that sends nonsense gets errors or empty
// replies; one that breaks the framing ends the session as a kill. The
// host process carries on either way.
func TestHostileClient(t *testing.T) {
	kvmtest.Require(t)
	kernel := cGuest(t)
	noLeaks(t)
	addr, done := startVM(t, kernel, 8<<20)
	c := dial(t, addr)
	for _, tt := range []struct{ send, want string }{
		{"m0,ffffffff", "E01"},
		{"mffffffffffffffff,8", "E14"},
		{"M100000,4:zz", "E01"},
		{"Mdeadbeef0000,1:cc", "E14"},
		{"p9999", "E01"},
		{"P10=00", "E01"},
		{"Z1,100000,1,2,3", "OK"},
		{"Z2,100001,8", "E01"}, // unaligned watchpoint
		{"Z9,0,1", ""},
		{"qXfer:features:read:target.xml:ffffffff,10", "l"},
		{"vFrobnicate", ""},
		{"G00", "OK"}, // too short to set anything
	} {
		c.send(tt.send)
		if got := c.recv(); got != tt.want {
			t.Errorf("%q: reply %q, want %q", tt.send, got, tt.want)
		}
	}
	c.Write([]byte("$" + strings.Repeat("a", 0x5000) + "#00"))
	wantErr(t, done, monitor.ErrKilled)
}
