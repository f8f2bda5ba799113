package main

// Tests of what a user sees from the command line: the one-line errors
// and hints, the checks of stdout, and how signals end a run. Written
// once for both architectures (the process tests run in the ARM64 lane
// too, where the signal path's raw system calls matter).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// noLeaks checks that the in-process runs of a test leave no file
// descriptor open and no goroutine behind (the signal watcher included).
func noLeaks(t *testing.T) {
	t.Helper()
	// os/signal starts its one delivery goroutine on first use, for good.
	catchSignals(io.Discard, false).stop(true)
	leakcheck.Check(t)
}

// manifestGuest is a guest that declares entries; the CLI refuses to run
// each one below before it boots.
func manifestGuest(t *testing.T, entries ...guestabi.Entry) string {
	return writeGuest(t, microguest.ELF(microguest.Guest{Machine: guests.Machine, Text: make([]byte, 16), Manifest: guestabi.NewManifest(entries...)}))
}

// checkLines runs the CLI in-process and checks it fails with status 1,
// a first line containing want and a second line containing hint ("":
// none).
func checkLines(t *testing.T, args []string, want, hint string) {
	t.Helper()
	status, _, errOut := runCLI(args...)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	ok := status == 1 && strings.HasPrefix(lines[0], "unimon: ") && strings.Contains(lines[0], want)
	if hint == "" {
		ok = ok && len(lines) == 1
	} else {
		ok = ok && len(lines) == 2 && strings.Contains(lines[1], hint)
	}
	if !ok {
		t.Errorf("%q: status %d, stderr %q\nwant status 1, %q, then hint %q", args, status, errOut, want, hint)
	}
}

func TestCLIKernelFileErrors(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "guest.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // a plain `go build`/`go test -c` binary for this machine
	if err != nil {
		t.Fatal(err)
	}
	twice := manifestGuest(t, guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic}, guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic})
	tests := []struct {
		kernel, want, hint string
	}{
		{dir, "is a directory", ""},
		// A FIFO with no writer would block a plain open forever.
		{fifo, "is a named pipe (FIFO), not a regular file", ""},
		{writeGuest(t, []byte("#!/bin/sh\necho hello\n")), `not an ELF file: it starts with "#!/b"`, ""},
		{writeGuest(t, nil), "not an ELF file: the file is empty", ""},
		{self, "No Solo5 ABI information found", "Not a Solo5 unikernel: built with plain go build? Use unimon build."},
		{twice, `Solo5 manifest is invalid: entries 1 and 2 are both named "storage"`, ""},
	}
	for _, tt := range tests {
		checkLines(t, []string{"--block:storage=/dev/null", tt.kernel}, tt.want, tt.hint)
	}
}

func TestCLIDeviceErrorsNameEveryDevice(t *testing.T) {
	noLeaks(t)
	var many []guestabi.Entry
	for i := range guestabi.ManifestMaxDevices {
		typ := guestabi.DeviceBlockBasic
		if i%2 == 1 {
			typ = guestabi.DeviceNetBasic
		}
		many = append(many, guestabi.Entry{Name: fmt.Sprintf("dev%d", i), Type: typ})
	}
	var all []string
	for _, e := range many {
		all = append(all, fmt.Sprintf("%q", e.Name))
	}
	twoDisks := manifestGuest(t, guestabi.Entry{Name: "a", Type: guestabi.DeviceBlockBasic}, guestabi.Entry{Name: "b", Type: guestabi.DeviceBlockBasic})
	disk := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(disk, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	hello := writeGuest(t, guests.Hello())
	net := writeGuest(t, guests.NetEcho())
	kvmtest.Require(t) // the checks that need the devices opened end in monitor.New
	tests := []struct {
		args       []string
		want, hint string
	}{
		{args: []string{manifestGuest(t, many...)}}, // checked below: 63 names do not fit a want string
		{[]string{"--block:a=" + disk, twoDisks}, `declares BLOCK_BASIC device "b" but it is not attached`, "Attach it with --block:b=PATH."},
		{[]string{writeGuest(t, guests.BlockRoundTrip())}, `declares BLOCK_BASIC device "storage" but it is not attached`, "Attach it with --block:storage=PATH (or --block=PATH)."},
		{[]string{"--block:x=" + disk, "--block:y=" + disk, "--net:z=tap0", hello}, "--block:x, --block:y, --net:z: 3 resources not declared in manifest (the unikernel declares no devices)", "Try 'unimon --help'"},
		{[]string{"--net=@x", net}, "--net:service0=@x: want @ followed by an open tap file descriptor number", "Try 'unimon --help'"},
		{[]string{"--net=@1048576", net}, "--net:service0: fd 1048576: not open in this process", ""},
		{[]string{"--net=@0", net}, "--net:service0: fd 0: not a tap: it is not /dev/net/tun", ""},
	}
	status, _, errOut := runCLI(tests[0].args...)
	if !strings.HasPrefix(errOut, `unimon: the unikernel declares 63 devices that are not attached: BLOCK_BASIC "dev0", "dev2"`) {
		t.Errorf("63 devices: stderr %q", errOut)
	}
	for _, name := range all {
		if !strings.Contains(errOut, name) {
			t.Errorf("63 devices: %s not named in %q", name, errOut)
		}
	}
	if lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n"); status != 1 || len(lines) != 2 ||
		lines[1] != "Attach each with --block:NAME=PATH and --net:NAME=TAP." {
		t.Errorf("63 devices: status %d, stderr %q", status, errOut)
	}
	for _, tt := range tests[1:] {
		checkLines(t, tt.args, tt.want, tt.hint)
	}
}

func TestCLIMemoryHint(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	big := writeGuest(t, microguest.ELF(microguest.Guest{Machine: guests.Machine, Text: make([]byte, 16), Data: []byte{1}, DataAddr: 0x400000}))
	checkLines(t, []string{"--mem=4", big}, "needs at least 6 MiB of guest memory, 4 MiB given", "Give it more with --mem=6.")
	checkLines(t, []string{"--mem", "64", big}, "--mem 64: options take their value after '=', as in solo5-hvt: write --mem=64", "Try 'unimon --help'")
}

func TestVersionFromBuildInfo(t *testing.T) {
	tests := []struct {
		bi   debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261130010203-abcdef123456"}}, "v0.0.0-20261130010203-abcdef123456"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "devel-0123456789ab-dirty"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}}, "devel-0123456789ab"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	}
	for _, tt := range tests {
		if got := versionFromBuildInfo(&tt.bi); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.bi, got, tt.want)
		}
	}
	// This test binary has no version linked in: --version still says one.
	if status, _, errOut := runCLI("--version"); status != 0 || strings.Contains(errOut, "version \n") {
		t.Errorf("--version: status %d, %q", status, errOut)
	}
}

func TestCheckStdout(t *testing.T) {
	dir := t.TempDir()
	open := func(path string, flag int) *os.File {
		f, err := os.OpenFile(path, flag|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close() // nobody will ever read w
	closed := open(filepath.Join(dir, "closed"), os.O_WRONLY)
	closed.Close()
	tests := []struct {
		name         string
		f            *os.File
		err, warning string
	}{
		{"regular file", open(filepath.Join(dir, "out"), os.O_WRONLY), "", ""},
		{"/dev/null write-only", open(os.DevNull, os.O_WRONLY), "", ""},
		{"/dev/null read-write", open(os.DevNull, os.O_RDWR), "", "stdout looks closed (>&-"},
		{"read-only", open(filepath.Join(dir, "out"), os.O_RDONLY), "stdout is open for reading only", ""},
		{"pipe without reader", w, "stdout is a pipe whose reader has closed it", ""},
		{"closed", closed, "stdout is closed", ""},
	}
	for _, tt := range tests {
		warning, err := checkStdout(tt.f)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) || !strings.Contains(warning, tt.warning) || (tt.warning == "") != (warning == "") {
			t.Errorf("%s: warning %q, err %v; want %q, %q", tt.name, warning, err, tt.warning, tt.err)
		}
	}
}

// cliProcess is a unimon process started with stdout (nil: closed) and
// its stderr collected.
type cliProcess struct {
	proc   *os.Process
	stderr *os.File
	errOut chan string
}

func startCLI(t *testing.T, bin string, stdout *os.File, args ...string) *cliProcess {
	t.Helper()
	er, ew, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer ew.Close()
	proc, err := os.StartProcess(bin, append([]string{bin}, args...), &os.ProcAttr{Files: []*os.File{nil, stdout, ew}})
	if err != nil {
		er.Close()
		t.Fatal(err)
	}
	p := &cliProcess{proc: proc, stderr: er, errOut: make(chan string, 1)}
	go func() {
		var b bytes.Buffer
		b.ReadFrom(er)
		er.Close()
		p.errOut <- b.String()
	}()
	// Whatever happens, no process outlives the test.
	t.Cleanup(func() { proc.Kill(); proc.Wait() })
	return p
}

// wait returns the process's end and its stderr. A process that has not
// ended after a minute, far beyond any bound unimon keeps, is killed and
// reported: the test must not hang.
func (p *cliProcess) wait(t *testing.T) (syscall.WaitStatus, string) {
	t.Helper()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Errorf("unimon (pid %d) still running after a minute: killing it", p.proc.Pid)
			p.proc.Kill()
		}
	}()
	st, err := p.proc.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(syscall.WaitStatus), <-p.errOut
}

// waitRunning waits until the process has its vCPU and catches its
// signals (it sets that up while it creates the VM, and finishes before
// the guest runs) and, if blocked, until one of its threads sleeps in a
// pipe write.
func waitRunning(t *testing.T, pid int, blocked bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !(hasVCPU(pid) && signalsCaught(pid)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !signalsCaught(pid) {
		t.Logf("pid %d: signal handling not seen ready; signalling anyway", pid)
	}
	for blocked && !inPipeWrite(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if blocked && !inPipeWrite(pid) {
		t.Logf("pid %d: no thread seen in pipe_write; signalling anyway", pid)
	}
}

// signalsCaught reports whether process pid has asked for every signal
// the CLI catches. What shows it from outside: os/signal has the Go runtime
// keep one thread with every signal blocked but those some signal.Notify
// asked for, and it unblocks each only once the Notify for it is in place.
func signalsCaught(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, line := range strings.Split(string(b), "\n") {
			v, ok := strings.CutPrefix(line, "SigBlk:")
			if !ok {
				continue
			}
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil || mask == 0 {
				continue
			}
			caught := true
			for _, sig := range caughtSignals {
				if mask&(1<<(sig-1)) != 0 {
					caught = false
				}
			}
			if caught {
				return true
			}
		}
	}
	return false
}

// inPipeWrite reports whether a thread of pid sleeps in the kernel's pipe
// write, i.e. the console write is blocked on a full pipe.
func inPipeWrite(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, w := range tasks {
		if b, _ := os.ReadFile(w); strings.Contains(string(b), "pipe_write") {
			return true
		}
	}
	return false
}

// fullPipe returns a pipe whose buffer is full: a write to w blocks until
// someone reads r.
func fullPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	rc.Control(func(fd uintptr) {
		syscall.SetNonblock(int(fd), true)
		for {
			if _, err := syscall.Write(int(fd), chunk); err != nil {
				break
			}
		}
		syscall.SetNonblock(int(fd), false)
	})
	return r, w
}

// Each signal ends a run as it ends solo5-hvt: SIGINT and SIGTERM with
// exit status 1, the others killed by the signal itself. Those unimon
// catches (SIGINT, SIGTERM, SIGPIPE) print one line saying which; the
// others take their default action, silently, as upstream's do. With
// stdout a full pipe nobody reads (the console write blocked), the same,
// within runGrace.
func TestCLISignals(t *testing.T) {
	kvmtest.Require(t)
	bin := cli(t)
	spin := writeGuest(t, guests.Spin())
	hello := writeGuest(t, guests.Hello())
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	tests := []struct {
		sig      syscall.Signal
		fullPipe bool
	}{
		{syscall.SIGTERM, false},
		{syscall.SIGINT, false},
		{syscall.SIGHUP, false},
		{syscall.SIGPIPE, false},
		{syscall.SIGUSR1, false},
		{syscall.SIGUSR2, false},
		{syscall.SIGALRM, false},
		{syscall.SIGXCPU, false},
		{syscall.SIGTERM, true},
		{syscall.SIGPIPE, true},
		{syscall.SIGHUP, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%v, full stdout %v", tt.sig, tt.fullPipe)
		stdout, kernel := devNull, spin
		if tt.fullPipe {
			_, stdout = fullPipe(t)
			kernel = hello // blocks in its first PUTS
		}
		p := startCLI(t, bin, stdout, "--mem=8", kernel)
		waitRunning(t, p.proc.Pid, tt.fullPipe)
		p.proc.Signal(tt.sig)
		ws, errOut := p.wait(t)
		wantLine := ""
		if slices.Contains(caughtSignals, tt.sig) {
			wantLine = fmt.Sprintf("unimon: exiting on signal %d (%s)\n", int(tt.sig), sigName(tt.sig))
		}
		switch tt.sig {
		case syscall.SIGINT, syscall.SIGTERM:
			if !ws.Exited() || ws.ExitStatus() != 1 {
				t.Errorf("%s: %v, want exit status 1", name, describe(ws))
			}
		default:
			if !ws.Signaled() || ws.Signal() != tt.sig {
				t.Errorf("%s: %v, want killed by %v", name, describe(ws), tt.sig)
			}
		}
		if errOut != wantLine {
			t.Errorf("%s: stderr %q, want %q", name, errOut, wantLine)
		}
	}
}

// stdout's reader going away while the console write is blocked ends
// the run as solo5-hvt ends: killed by SIGPIPE, here with a line saying
// why. A stdout closed or unreadable from the start is reported before
// the guest runs.
func TestCLIStdoutProblems(t *testing.T) {
	kvmtest.Require(t)
	bin := cli(t)
	hello := writeGuest(t, guests.Hello())

	r, w := fullPipe(t)
	p := startCLI(t, bin, w, "--mem=8", hello)
	waitRunning(t, p.proc.Pid, true)
	r.Close()
	ws, errOut := p.wait(t)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPIPE || !strings.Contains(errOut, "(SIGPIPE)") {
		t.Errorf("reader closed during the run: %v, stderr %q; want killed by SIGPIPE, saying so", describe(ws), errOut)
	}

	// Closed (>&-): the Go runtime gives the process /dev/null instead.
	p = startCLI(t, bin, nil, "--mem=8", hello)
	ws, errOut = p.wait(t)
	if !ws.Exited() || ws.ExitStatus() != 0 || !strings.HasPrefix(errOut, "unimon: warning: stdout looks closed (>&-") {
		t.Errorf("stdout closed: %v, stderr %q; want the guest's status 0 and a warning", describe(ws), errOut)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	p = startCLI(t, bin, pw, "--mem=8", hello)
	pw.Close()
	ws, errOut = p.wait(t)
	if !ws.Exited() || ws.ExitStatus() != 1 || errOut != "unimon: stdout is a pipe whose reader has closed it: the guest's console output has nowhere to go\n" {
		t.Errorf("stdout a pipe without reader: %v, stderr %q; want exit 1 and one line", describe(ws), errOut)
	}
}

func sigName(sig syscall.Signal) string {
	return map[syscall.Signal]string{
		syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP", syscall.SIGPIPE: "SIGPIPE",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGALRM: "SIGALRM",
	}[sig]
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// Errors the monitor itself reports about several devices (as an
// embedding program would see them) read as one line too.
func TestExplainJoinedDeviceErrors(t *testing.T) {
	m := guestabi.NewManifest(guestabi.Entry{Name: "a", Type: guestabi.DeviceBlockBasic})
	err := errors.Join(
		&monitor.DeviceError{Name: "x", Type: guestabi.DeviceBlockBasic, Err: monitor.ErrNotDeclared},
		&monitor.DeviceError{Name: "y", Type: guestabi.DeviceNetBasic, Err: monitor.ErrNotDeclared},
	)
	for _, tt := range []struct {
		m    *guestabi.Manifest
		want string
	}{
		{m, `2 devices are not declared by the unikernel: BLOCK_BASIC "x"; NET_BASIC "y" (it declares BLOCK_BASIC a)`},
		{nil, `2 devices are not declared by the unikernel: BLOCK_BASIC "x"; NET_BASIC "y"`},
	} {
		if line, hint := explain(err, tt.m); line != tt.want || hint != "" {
			t.Errorf("line %q, hint %q; want %q and no hint", line, hint, tt.want)
		}
	}
}
