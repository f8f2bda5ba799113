//go:build linux && (amd64 || arm64)

package goguests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/internal/guestbuild"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/monitor"
)

const guestMem = 128 << 20

var tmpDir string

func TestMain(m *testing.M) { guestbuild.MainWithTempDir(m, "unimon-goguests-", &tmpDir) }

var (
	imagesMu sync.Mutex
	images   = map[string]string{}
)

// image returns the path of Images[name]: built once per test binary for
// this machine, or, in the ARM64 lane (laneproto.GoGuestsEnv set), built
// by the lane on the host.
func image(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv(laneproto.GoGuestsEnv); dir != "" {
		return filepath.Join(dir, name)
	}
	imagesMu.Lock()
	defer imagesMu.Unlock()
	if p, ok := images[name]; ok {
		return p
	}
	p, err := BuildImage(context.Background(), "../..", tmpDir, name, "")
	if err != nil {
		t.Fatal(err)
	}
	images[name] = p
	return p
}

// guest is the test program ./guest.
func guest(t testing.TB) string { return image(t, "guest.hvt") }

// noLeaks fails t if the test leaves file descriptors or goroutines behind.
func noLeaks(t *testing.T) {
	t.Helper()
	leakcheck.Check(t)
}

// stampedWriter records when each console line arrived (host clock).
type stampedWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []stampedLine
	part  []byte
}

type stampedLine struct {
	at   time.Time
	text string
}

func (w *stampedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.buf.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, stampedLine{now, string(w.part[:i])})
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *stampedWriter) lineAt(prefix string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if strings.HasPrefix(l.text, prefix) {
			return l.at, true
		}
	}
	return time.Time{}, false
}

type run struct {
	status  int
	console string
	w       *stampedWriter
}

// runGuest boots the guest with args under the monitor (in process).
func runGuest(t *testing.T, mem uint64, args ...string) run {
	t.Helper()
	kvmtest.Require(t)
	return runKernel(t, guest(t), mem, args...)
}

// runKernel boots the unikernel file kernel with args under the monitor;
// the caller has called kvmtest.Require.
func runKernel(t *testing.T, kernel string, mem uint64, args ...string) run {
	t.Helper()
	noLeaks(t)
	w := &stampedWriter{}
	vm, err := monitor.New(monitor.Config{Kernel: kernel, Memory: mem, Args: args, Console: w})
	if err != nil {
		t.Fatalf("monitor.New: %v", err)
	}
	defer vm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	status, err := vm.Run(ctx)
	if err != nil {
		t.Fatalf("Run(%q): %v\nconsole:\n%s", args, err, w.buf.String())
	}
	return run{status, w.buf.String(), w}
}

func (r run) want(t *testing.T, status int, patterns ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("exit status %d, want %d", r.status, status)
	}
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(r.console) {
			t.Errorf("console does not match %q", p)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", r.console)
	}
}

func TestHello(t *testing.T) {
	r := runGuest(t, guestMem, "hello", "first", "second")
	r.want(t, 0, `(?m)^hello: args=\["first" "second"\]$`)
}

// dup, dup2 (dup3 on arm64), dup3 and fcntl's F_DUPFD* share the open
// file description, as on Linux (the guest's dup mode checks each
// semantic and prints one line per check).
func TestDup(t *testing.T) {
	r := runGuest(t, guestMem, "dup")
	r.want(t, 0, `(?m)^dup: the watches go with the last fd ok$`, `(?m)^dup: done$`)
}

// socketpair(AF_UNIX, SOCK_STREAM) gives two connected sockets that
// net.FileConn takes (the guest's socketpair mode checks each semantic).
func TestSocketpair(t *testing.T) {
	r := runGuest(t, guestMem, "socketpair")
	r.want(t, 0, `(?m)^socketpair: EPIPE once the peer is closed ok$`, `(?m)^socketpair: done$`)
}

// Solo5's own options are not the program's arguments.
func TestSolo5OptionsStripped(t *testing.T) {
	r := runGuest(t, guestMem, "--solo5:quiet", "hello", "x")
	r.want(t, 0, `(?m)^hello: args=\["x"\]$`)
}

func TestExitCode(t *testing.T) {
	r := runGuest(t, guestMem, "exit", "3")
	r.want(t, 3, `exiting with 3`)
}

func TestPanic(t *testing.T) {
	r := runGuest(t, guestMem, "panic")
	r.want(t, 2, `panic: deliberate panic from the guest`, `goroutine 1 \[running\]:`, `main\.panicHere\(\)`)
}

// A nil dereference is a Go panic, as on Linux (tests/fidelity has the
// rest of issue 8's faults and the crash report).
func TestNilPanic(t *testing.T) {
	r := runGuest(t, guestMem, "nil")
	r.want(t, 2, `panic: runtime error: invalid memory address or nil pointer dereference`, `\[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x[0-9a-f]+\]`)
}

func TestTime(t *testing.T) {
	r := runGuest(t, guestMem, "time")
	host := time.Now()
	m := regexp.MustCompile(`time: (\d+)`).FindStringSubmatch(r.console)
	if m == nil {
		r.want(t, 0, `time: \d+`)
		return
	}
	ns, _ := strconv.ParseInt(m[1], 10, 64)
	if d := host.Sub(time.Unix(0, ns)); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("guest time.Now() is %v off the host's", d)
	}
}

// time.Now reads the clock through the bindings' vDSO, without a trap:
// 10,000 calls cost far fewer than 10,000 system calls (the runtime's own
// few remain).
func TestClockWithoutTraps(t *testing.T) {
	const calls = 10000
	r := runGuest(t, guestMem, "--unimon:stats", "clock", strconv.Itoa(calls))
	r.want(t, 0, `clock: \d+ ns/op`)
	m := regexp.MustCompile(`syscalls=(\d+)`).FindStringSubmatch(r.console)
	if m == nil {
		t.Fatalf("no stats line:\n%s", r.console)
	}
	if n, _ := strconv.Atoi(m[1]); n >= calls {
		t.Errorf("%d system calls for %d time.Now calls: the clock traps instead of using the vDSO", n, calls)
	}
}

// The auxiliary vector is Linux's: AT_HWCAP holds the CPU's features
// (what the Go runtime picks its atomics and crypto instructions by on
// arm64), and /proc/self/auxv has the same words, from which
// golang.org/x/sys/cpu reads them.
func TestAuxv(t *testing.T) {
	r := runGuest(t, guestMem, "auxv")
	m := regexp.MustCompile(`hwcap: 0x([0-9a-f]+)`).FindStringSubmatch(r.console)
	if m == nil {
		r.want(t, 0, `hwcap: 0x[0-9a-f]+`)
		return
	}
	hwcap, _ := strconv.ParseUint(m[1], 16, 64)
	on := func(bit uint) bool { return hwcap&(1<<bit) != 0 }
	switch runtime.GOARCH {
	case "arm64":
		// FP and AdvSIMD: every ARMv8-A CPU Linux runs on.
		if !on(0) || !on(1) {
			t.Errorf("AT_HWCAP %#x lacks FP or ASIMD", hwcap)
		}
		want := fmt.Sprintf("x/sys/cpu: fp=%v asimd=%v aes=%v sha2=%v atomics=%v", on(0), on(1), on(3), on(6), on(8))
		r.want(t, 0, regexp.QuoteMeta(want))
	case "amd64":
		if !on(26) {
			t.Errorf("AT_HWCAP %#x lacks SSE2 (CPUID.1:EDX bit 26)", hwcap)
		}
		r.want(t, 0, `x/sys/cpu: sse2=true`)
	}
}

func TestRand(t *testing.T) {
	r := runGuest(t, guestMem, "rand")
	m := regexp.MustCompile(`rand: ([0-9a-f]{64}) ([0-9a-f]{64})`).FindStringSubmatch(r.console)
	if m == nil {
		r.want(t, 0, `rand: [0-9a-f]{64} [0-9a-f]{64}`)
		return
	}
	if m[1] == strings.Repeat("0", 64) || m[1] == m[2] {
		t.Errorf("crypto/rand gave %s then %s", m[1], m[2])
	}
}

// 1,000 goroutines, channels, a mutex, a WaitGroup, select with timers,
// and a 50 ms sleep seen from the host's clock (through console stamps).
func TestConcurrency(t *testing.T) {
	for _, mode := range []struct{ name, opt string }{{"timer", ""}, {"cooperative", "--unimon:notimer"}} {
		t.Run(mode.name, func(t *testing.T) {
			args := []string{"concurrency"}
			if mode.opt != "" {
				args = append([]string{mode.opt}, args...)
			}
			r := runGuest(t, guestMem, args...)
			r.want(t, 0, `concurrency: goroutines=1000 total=499500 sum=2997`, `concurrency: ticks=\d+`, `sleep end`)
			start, ok1 := r.w.lineAt("concurrency: sleep start")
			end, ok2 := r.w.lineAt("concurrency: sleep end")
			if ok1 && ok2 {
				if d := end.Sub(start); d < 50*time.Millisecond || d > time.Second {
					t.Errorf("time.Sleep(50ms) took %v on the host clock", d)
				}
			}
		})
	}
}

// 1 GiB allocated and dropped in a 128 MiB guest: demand paging, the
// collector, FreeOSMemory (MADV_DONTNEED) and zeroed reuse.
func TestMemory(t *testing.T) {
	r := runGuest(t, guestMem, "memory")
	r.want(t, 0, `memory: allocated=1024MiB`)
}

// Floating-point work in many goroutines, with allocation, timers and a
// spinning goroutine forcing timer preemption, gives the same results as a
// sequential run: no register state is lost across traps and switches.
func TestStress(t *testing.T) {
	r := runGuest(t, guestMem, "stress")
	r.want(t, 0, `stress: ok`)
}

// A goroutine spinning without function calls does not stop the others:
// the x2APIC timer of the in-kernel irqchip preempts the spinning thread.
func TestStarvation(t *testing.T) {
	r := runGuest(t, guestMem, "--unimon:stats", "starvation")
	r.want(t, 0, `starvation: others progressed`, `timer_hz=100`)
}

// An idle guest leaves the host CPU idle: over a 2 s sleep the monitor
// process uses a small fraction of a CPU.
func TestIdle(t *testing.T) {
	kvmtest.Require(t)
	bin := os.Getenv(laneproto.CLIEnv) // the ARM64 lane's unimon; elsewhere, build it
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "unimon")
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/unimon")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building unimon: %v\n%s", err, out)
		}
	}
	for _, mode := range []struct{ name, opt string }{{"timer", "--unimon:stats"}, {"cooperative", "--unimon:notimer"}} {
		t.Run(mode.name, func(t *testing.T) {
			const sleep = 2 * time.Second
			cpu := sleepCPU(t, exec.Command(bin, "--mem=128", guest(t), mode.opt, "sleep", sleep.String()))
			t.Logf("monitor CPU time over a %v sleep: %v", sleep, cpu)
			if cpu > idleLimit(sleep) {
				t.Errorf("monitor used %v of CPU while the guest slept %v: the guest is busy-waiting", cpu, sleep)
			}
		})
	}
}

// idleLimit is the CPU time an idle guest may cost over d: a quarter. A
// busy-waiting guest costs all of it; an idle one some tens of
// milliseconds over 2 s, also under the ARM64 lane's emulation.
func idleLimit(d time.Duration) time.Duration { return d / 4 }

// sleepCPU runs cmd (the CLI running the guest's sleep mode) and returns
// the CPU time the monitor process used between the guest's "sleep:
// start" and "sleep: end" lines, read from /proc as each line arrives. The
// boot is left out by measuring only the sleep, not by subtracting a
// separate boot's cost: under the ARM64 lane's emulation boots vary by
// more than a second from run to run.
func sleepCPU(t *testing.T, cmd *exec.Cmd) time.Duration {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var console strings.Builder
	var start, end time.Duration
	var started, ended bool
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		console.WriteString(line + "\n")
		switch line {
		case "sleep: start":
			start, started = processCPU(t, cmd.Process.Pid), true
		case "sleep: end":
			end, ended = processCPU(t, cmd.Process.Pid), true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s%s", err, console.String(), stderr.String())
	}
	if !started || !ended {
		t.Fatalf("no sleep: start/end lines in the output:\n%s%s", console.String(), stderr.String())
	}
	return end - start
}

// processCPU is the user plus system time of all of process pid's
// threads so far (/proc/PID/stat fields 14 and 15, in clock ticks).
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from after its closing parenthesis (field 3 is first).
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/stat: %q", pid, s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture unimon runs on.
const clockTicks = 100

// The bundled example (make run) builds and runs.
func TestExampleHello(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	out := image(t, "hello.hvt")
	var console bytes.Buffer
	vm, err := monitor.New(monitor.Config{Kernel: out, Memory: 32 << 20, Args: []string{"from", "make", "run"}, Console: &console})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	status, err := vm.Run(context.Background())
	if err != nil || status != 0 || !strings.Contains(console.String(), "arg 3: run") {
		t.Fatalf("status %d, err %v, console:\n%s", status, err, console.String())
	}
}

var _ io.Writer = (*stampedWriter)(nil)
