package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/guestbuild"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/internal/sandboxtest"
	"github.com/unimon/unimon/sandbox"
	"golang.org/x/sys/unix"
)

var measure = flag.Bool("measure", false, "run the CLI under strace in the sandbox_measure build and print the system calls made after LockDown")

// denied is the start of the line the SIGSYS handler prints.
const denied = "sandbox: system call"

var tmpDir string

func TestMain(m *testing.M) {
	flag.Parse()
	guestbuild.MainWithTempDir(m, "unimon-sandbox-", &tmpDir)
}

var (
	cliMu    sync.Mutex
	cliPaths = map[bool]string{}
)

// cli builds the unimon binary, as the Makefile does (no cgo) or, with
// cgo true, as a plain go build or go install does where a C compiler is
// installed (package net then links cgo, and new threads start in
// glibc); in the sandbox_measure build with -measure.
func cli(t *testing.T, cgo bool) string {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	if p, ok := cliPaths[cgo]; ok {
		return p
	}
	path := filepath.Join(tmpDir, fmt.Sprintf("unimon-cgo-%v", cgo))
	args := []string{"build", "-o", path}
	if *measure {
		args = append(args, "-tags", "sandbox_measure")
	}
	cmd := exec.Command("go", append(args, "../../cmd/unimon")...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("CGO_ENABLED=%d", map[bool]int{false: 0, true: 1}[cgo]))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cliPaths[cgo] = path
	return path
}

// Names of the Go guest's devices.
const (
	goBlock = "disk"
	goNet   = "net0"
)

// goOnce is tests/goguests/guest built with a block and a net device.
var goOnce = guestbuild.Once{Options: gobuild.Options{
	Package: "./tests/goguests/guest", Dir: "../..", Block: []string{goBlock}, Net: []string{goNet},
}}

func goGuest(t *testing.T) string { return goOnce.Path(t, tmpDir, "goguest.hvt") }

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// command returns the CLI (under strace with -measure) with args: the
// build without cgo, as the Makefile makes it.
func command(t *testing.T, ctx context.Context, ns *netnstest.NS, args ...string) *exec.Cmd {
	t.Helper()
	return commandOf(t, ctx, ns, false, args...)
}

// commandOf is command for the build with or without cgo.
func commandOf(t *testing.T, ctx context.Context, ns *netnstest.NS, cgo bool, args ...string) *exec.Cmd {
	t.Helper()
	name := cli(t, cgo)
	if *measure {
		trace := filepath.Join(tmpDir, fmt.Sprintf("strace.%d", time.Now().UnixNano()))
		args = append([]string{"-f", "-qq", "-o", trace, name}, args...)
		name = "strace"
	}
	if ns != nil {
		return ns.Command(ctx, name, args...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// result is one finished CLI run.
type result struct {
	status         int
	stdout, stderr string
}

// runCLI runs the CLI to the end, in ns unless it is nil.
func runCLI(t *testing.T, ns *netnstest.NS, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := command(t, ctx, ns, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	r := result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	checkNotDenied(t, r.stderr)
	return r
}

func checkNotDenied(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, denied) {
		t.Errorf("the filter denied a call the monitor needs: %s", stderr)
	}
}

// TestEveryGuestUnderFilter runs every kind of micro-guest, healthy and
// hostile, in the locked-down CLI.
func TestEveryGuestUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	disk := write(t, "disk.img", make([]byte, 4096))
	type tc struct {
		name   string
		image  []byte
		args   []string
		status int
		stdout string // exact, unless "*"
	}
	tests := []tc{
		{"hello", microguest.Hello(), []string{"a", "b"}, 0, microguest.HelloText + "a b\n"},
		{"exit", microguest.Exit(42), nil, 42, ""},
		{"walltime", microguest.Walltime(), nil, 0, "*"},
		{"poll", microguest.PollTimeout(1_000_000), nil, 0, "*"},
		{"puts-loop", microguest.PutsLoop(1000), nil, 0, ""},
		{"block", microguest.BlockRoundTrip(), []string{"--block:storage=" + disk}, 0, "*"},
		{"triple-fault", microguest.TripleFault(), nil, 1, ""},
		{"write-text", microguest.WriteText(), nil, 1, ""},
		{"bad-port", microguest.BadPort(), nil, 1, ""},
	}
	for _, c := range microguest.HostileCases() {
		img, err := microguest.Hostile(c.Call, c.Kind)
		if err != nil {
			t.Fatal(err)
		}
		var dev []string
		switch {
		case strings.Contains(c.Name(), "block"):
			dev = []string{"--block:storage=" + disk}
		case strings.Contains(c.Name(), "net"):
			continue // needs a tap: TestGoGuestUnderFilter covers the net path
		}
		status := 0
		if c.Fatal() {
			status = 1
		}
		tests = append(tests, tc{c.Name(), img, dev, status, "*"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kernel := write(t, "guest.hvt", tt.image)
			var args []string
			var rest []string
			for _, a := range tt.args {
				if strings.HasPrefix(a, "--") {
					args = append(args, a)
				} else {
					rest = append(rest, a)
				}
			}
			r := runCLI(t, nil, append(append(append([]string{"--mem=8"}, args...), kernel), rest...)...)
			if r.status != tt.status || (tt.stdout != "*" && r.stdout != tt.stdout) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d", r.status, r.stdout, r.stderr, tt.status)
			}
			if tt.status == 1 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want one line on stderr, got %q", r.stderr)
			}
		})
	}
}

// TestSignalUnderFilter stops a spinning guest with SIGTERM: the signal
// path (Kick, the runtime's signal forwarding, the exit) is filtered too.
// While it spins, the test checks the lock-down on every thread (the CLI
// starts with an ambient capability, which must be gone too) and that an
// fd leaked by the parent is gone.
func TestSignalUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	if *measure {
		t.Skip("-measure: the thread checks need the CLI itself, not strace, as the child")
	}
	for _, cgo := range []bool{false, true} {
		t.Run(fmt.Sprintf("cgo=%v", cgo), func(t *testing.T) {
			// Repeated: a denial on a thread's start shows up only when the
			// runtime happens to start one.
			for range 5 {
				signalUnderFilter(t, cgo)
			}
		})
	}
}

func signalUnderFilter(t *testing.T, cgo bool) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := commandOf(t, ctx, nil, cgo, "--mem=8", write(t, "spin.hvt", microguest.Spin()))
	cmd.ExtraFiles = []*os.File{w} // fd 3, without FD_CLOEXEC in the child
	// Started with an ambient capability, which the lock-down's capset
	// clears with the permitted and inheritable sets.
	cmd.SysProcAttr = &syscall.SysProcAttr{AmbientCaps: []uintptr{unix.CAP_NET_ADMIN}}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pid := cmd.Process.Pid
	// Locked once every thread reports a filter.
	var threads []string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if threads = sandboxtest.LockedThreads(pid); threads != nil {
			break
		}
	}
	if threads == nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the CLI never locked down; stderr %q", errb.String())
	}
	wants := []string{"Seccomp:\t2", "NoNewPrivs:\t1"}
	if !cgo {
		// A cgo binary drops the capabilities of the locking thread only
		// (see sandbox.LockDown); the others keep theirs but no call in
		// the allowlist can use them.
		wants = append(wants, "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapAmb:\t0000000000000000")
	}
	emptyBounding := 0
	for _, st := range threads {
		for _, want := range wants {
			if !strings.Contains(st, want) {
				t.Errorf("a thread lacks %q:\n%s", want, st)
			}
		}
		if strings.Contains(st, "CapBnd:\t0000000000000000") {
			emptyBounding++
		}
	}
	// The bounding set (what an exec could regain; the filter forbids
	// exec) is emptied on the locking thread only.
	if emptyBounding == 0 {
		t.Errorf("no thread has an empty bounding set: the locking thread should")
	}
	if _, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", pid)); err == nil {
		t.Errorf("the inherited fd 3 is still open in the locked-down CLI")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	checkNotDenied(t, errb.String())
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(errb.String(), "exiting on signal") {
		t.Errorf("exit %d, stderr %q", cmd.ProcessState.ExitCode(), errb.String())
	}
}

// TestGoGuestUnderFilter runs a Go unikernel in the locked-down CLI: its
// block device on a file, then its net device on a tap in a private
// namespace, echoing frames.
func TestGoGuestUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	kernel := goGuest(t)
	disk := write(t, "disk.img", make([]byte, 1<<20))

	t.Run("block", func(t *testing.T) {
		ns := netnstest.New(t)
		ns.AddTap("tap0", "", 0)
		r := runCLI(t, ns, "--mem=64", "--block:"+goBlock+"="+disk, "--net:"+goNet+"=tap0", kernel, "block", goBlock)
		if r.status != 0 || !strings.Contains(r.stdout, "block: size=") {
			t.Errorf("status %d, stdout %q, stderr %q", r.status, r.stdout, r.stderr)
		}
	})
	t.Run("net", func(t *testing.T) {
		ns := netnstest.New(t)
		r := startGoNet(t, ns, kernel, disk)
		buf := make([]byte, 2048)
		echoed := false
		for try := 0; try < 50 && !echoed; try++ {
			if err := r.link.Write(r.frame("ping")); err != nil {
				t.Fatal(err)
			}
			n, err := r.link.Read(buf, 200*time.Millisecond)
			echoed = err == nil && n == 60 && bytes.Equal(buf[0:6], goPeerMAC)
		}
		if !echoed {
			t.Errorf("no echo over the tap")
		}
		r.stop(t)
	})
}

// goNetRun is the Go guest echoing frames on tap0 in the locked-down CLI.
type goNetRun struct {
	cmd    *exec.Cmd
	lines  *bufio.Scanner
	stderr *bytes.Buffer
	link   *netnstest.Packet
	cancel context.CancelFunc
}

// MAC addresses of the Go guest and of the test's end of its tap.
var (
	goGuestMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x42}
	goPeerMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
)

// startGoNet creates tap0 in ns and starts the Go guest's net echo on it,
// with its block device on disk, and returns once the guest waits for
// frames: the run is set up and locked down.
func startGoNet(t *testing.T, ns *netnstest.NS, kernel, disk string) *goNetRun {
	t.Helper()
	ns.AddTap("tap0", "", 0)
	ns.DisableIPv6("tap0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := command(t, ctx, ns, "--mem=64", "--block:"+goBlock+"="+disk, "--net:"+goNet+"=tap0", "--net-mac:"+goNet+"="+goGuestMAC.String(), kernel, "net", goNet)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &goNetRun{cmd: cmd, stderr: &bytes.Buffer{}, cancel: cancel}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	r.lines = bufio.NewScanner(stdout)
	for r.lines.Scan() && !strings.HasPrefix(r.lines.Text(), "net: waiting") {
	}
	r.link = ns.Packet("tap0")
	return r
}

// frame is an Ethernet frame from the peer to the guest carrying payload.
func (r *goNetRun) frame(payload string) []byte {
	f := make([]byte, 60)
	copy(f[0:6], goGuestMAC)
	copy(f[6:12], goPeerMAC)
	f[12], f[13] = 0x88, 0xb5
	copy(f[14:], payload)
	return f
}

// stop ends the guest with a "stop" frame and checks it exited 0 with no
// system call denied.
func (r *goNetRun) stop(t *testing.T) {
	t.Helper()
	defer r.cancel()
	restc := make(chan string, 1)
	go func() { rest, _ := readAll(r.lines); restc <- rest }()
	waitSending(r.cmd, r.link, r.frame("stop"))
	rest := <-restc
	checkNotDenied(t, r.stderr.String())
	if r.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("status %d, stdout %q, stderr %q", r.cmd.ProcessState.ExitCode(), rest, r.stderr.String())
	}
}

// waitSending sends frame over link every 100 ms until cmd exits: a tap
// may drop what the kernel sends it for a moment after the guest
// attaches, so one frame is not a signal the guest is sure to see.
func waitSending(cmd *exec.Cmd, link *netnstest.Packet, frame []byte) {
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		link.Write(frame)
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

func readAll(s *bufio.Scanner) (string, error) {
	var b strings.Builder
	for s.Scan() {
		b.WriteString(s.Text() + "\n")
	}
	return b.String(), s.Err()
}

// TestZMeasured runs last (by name) and, with -measure, prints every
// system call the runs made after LockDown, and which of them the
// allowlist lacks.
func TestZMeasured(t *testing.T) {
	if !*measure {
		return
	}
	traces, _ := filepath.Glob(filepath.Join(tmpDir, "strace.*"))
	seen := map[string]bool{}
	call := regexp.MustCompile(`^\d+\s+([a-z0-9_]+)\(`)
	for _, tr := range traces {
		b, err := os.ReadFile(tr)
		if err != nil {
			t.Fatal(err)
		}
		after := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "seccomp(SECCOMP_SET_MODE_FILTER") {
				after = true
				continue
			}
			if m := call.FindStringSubmatch(line); after && m != nil {
				seen[m[1]] = true
			}
		}
	}
	allowed := map[string]bool{}
	for _, c := range sandbox.Calls {
		allowed[c.Name] = true
	}
	var names, missing []string
	for n := range seen {
		names = append(names, n)
		if !allowed[n] {
			missing = append(missing, n)
		}
	}
	slices.Sort(names)
	slices.Sort(missing)
	t.Logf("%d traces; calls made after LockDown (%d): %s", len(traces), len(names), strings.Join(names, " "))
	t.Logf("not in sandbox.Calls (argument-filtered or missing): %s", strings.Join(missing, " "))
}
