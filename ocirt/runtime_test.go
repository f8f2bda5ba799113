package ocirt_test

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/ocitest"
)

// The holders that unimon-runtime create leaves behind are reparented to
// this process (a subreaper, like containerd's shim and conmon), which
// reaps them with wait4 to read their exit status.
func TestMain(m *testing.M) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// runtimeCLI runs the built unimon-runtime with its own root.
type runtimeCLI struct {
	t    *testing.T
	bin  string
	root string
	log  string
}

func newRuntime(t *testing.T) *runtimeCLI {
	kvmtest.Require(t)
	ocitest.Need(t)
	dir := t.TempDir()
	return &runtimeCLI{t: t, bin: ocitest.Build(t, "./cmd/unimon-runtime"), root: filepath.Join(dir, "root"), log: filepath.Join(dir, "log.json")}
}

// run returns stdout, stderr and the exit code of one command. Its
// stdio are files, not pipes: a holder inherits them and outlives the
// command, so a pipe would never reach EOF.
func (r *runtimeCLI) run(args ...string) (string, string, int) {
	r.t.Helper()
	dir := r.t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer errf.Close()
	cmd := exec.Command(r.bin, append([]string{"--root", r.root, "--log", r.log, "--log-format", "json"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, errf
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return string(o), string(e), code
}

// state returns the container's state, or "gone" with the error text.
func (r *runtimeCLI) state(id string) (specs.State, string) {
	r.t.Helper()
	out, errs, code := r.run("state", id)
	var st specs.State
	if code != 0 {
		return st, errs
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		r.t.Fatalf("state %s: %v\n%s", id, err, out)
	}
	return st, ""
}

// reap waits for the holder pid and returns its exit status as a shim
// reports it: the code, or 128+N for signal N.
func reap(t *testing.T, pid int) int {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("wait4 %d: %v", pid, err)
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// step is one runtime command and what must follow from it.
type step struct {
	args    []string
	wantErr string // "" means exit 0
	status  string // state after the step; "gone" for no container
	reap    int    // -1: nothing to reap; else the holder's exit status, reaped after the step
}

func TestLifecycle(t *testing.T) {
	r := newRuntime(t)
	fdsBefore := openFDs(t)
	idle := microguest.PollTimeout(uint64(time.Hour))
	cases := []struct {
		name  string
		steps []step
	}{
		{"start-kill-delete", []step{
			{args: []string{"create", "--bundle", "B", "--pid-file", "P", "ID"}, status: "created", reap: -1},
			{args: []string{"create", "--bundle", "B", "ID"}, wantErr: "already exists", status: "created", reap: -1},
			{args: []string{"start", "ID"}, status: "running", reap: -1},
			{args: []string{"start", "ID"}, wantErr: "already running", status: "running", reap: -1},
			{args: []string{"delete", "ID"}, wantErr: "not stopped", status: "running", reap: -1},
			{args: []string{"ps", "--format", "json", "ID"}, status: "running", reap: -1},
			{args: []string{"kill", "ID", "TERM"}, status: "stopped", reap: 128 + 15},
			{args: []string{"kill", "ID", "KILL"}, wantErr: "container not running", status: "stopped", reap: -1},
			{args: []string{"start", "ID"}, wantErr: "has stopped", status: "stopped", reap: -1},
			{args: []string{"delete", "ID"}, status: "gone", reap: -1},
			{args: []string{"delete", "ID"}, wantErr: "does not exist", status: "gone", reap: -1},
			{args: []string{"kill", "ID", "9"}, wantErr: "does not exist", status: "gone", reap: -1},
			{args: []string{"start", "ID"}, wantErr: "does not exist", status: "gone", reap: -1},
		}},
		{"create-delete", []step{
			{args: []string{"create", "--bundle", "B", "--pid-file", "P", "ID"}, status: "created", reap: -1},
			{args: []string{"delete", "ID"}, status: "gone", reap: 128 + 9},
		}},
		{"kill-created", []step{
			{args: []string{"create", "--bundle", "B", "--pid-file", "P", "ID"}, status: "created", reap: -1},
			{args: []string{"kill", "ID", "SIGINT"}, status: "stopped", reap: 128 + 2},
			{args: []string{"delete", "ID"}, status: "gone", reap: -1},
		}},
		{"delete-force", []step{
			{args: []string{"create", "--bundle", "B", "--pid-file", "P", "ID"}, status: "created", reap: -1},
			{args: []string{"start", "ID"}, status: "running", reap: -1},
			{args: []string{"delete", "--force", "ID"}, status: "gone", reap: 128 + 9},
			{args: []string{"delete", "--force", "ID"}, status: "gone", reap: -1},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := ocitest.Bundle(t, idle, nil, nil)
			pidFile := filepath.Join(t.TempDir(), "pid")
			id := "unimon-" + tc.name
			pid := 0
			for i, s := range tc.steps {
				args := make([]string, len(s.args))
				for j, a := range s.args {
					args[j] = map[string]string{"B": bundle, "P": pidFile, "ID": id}[a]
					if args[j] == "" {
						args[j] = a
					}
				}
				out, errs, code := r.run(args...)
				switch {
				case s.wantErr == "" && code != 0:
					t.Fatalf("step %d %q: exit %d: %s", i, args, code, errs)
				case s.wantErr != "" && (code == 0 || !strings.Contains(errs, s.wantErr)):
					t.Fatalf("step %d %q: exit %d, stderr %q, want an error with %q", i, args, code, errs, s.wantErr)
				}
				if pid == 0 {
					b, _ := os.ReadFile(pidFile)
					pid, _ = strconv.Atoi(string(b))
				}
				if s.args[0] == "ps" && strings.TrimSpace(out) != "["+strconv.Itoa(pid)+"]" {
					t.Errorf("ps: %q, want [%d]", out, pid)
				}
				if s.reap >= 0 {
					if got := reap(t, pid); got != s.reap {
						t.Errorf("step %d %q: holder exit status %d, want %d", i, args, got, s.reap)
					}
				}
				st, errText := r.state(id)
				switch {
				case s.status == "gone" && !strings.Contains(errText, "does not exist"):
					t.Fatalf("step %d %q: state %+v %q, want does not exist", i, args, st, errText)
				case s.status != "gone" && string(st.Status) != s.status:
					t.Fatalf("step %d %q: state %+v %q, want %s", i, args, st, errText, s.status)
				case s.status == "created" || s.status == "running":
					if st.Pid != pid || st.Bundle != bundle || st.ID != id {
						t.Fatalf("step %d: state %+v, want pid %d bundle %s", i, st, pid, bundle)
					}
				}
			}
			if _, err := os.Stat(filepath.Join(r.root, id)); !os.IsNotExist(err) {
				t.Errorf("state directory left behind: %v", err)
			}
			if err := unix.Kill(pid, 0); err != unix.ESRCH {
				t.Errorf("holder %d still exists: %v", pid, err)
			}
		})
	}
	logged, _ := os.ReadFile(r.log)
	if !bytes.Contains(logged, []byte(`"level":"error","msg":"container not running"`)) {
		t.Errorf("log has no JSON error line for kill of a stopped container:\n%s", logged)
	}
	if after := openFDs(t); after != fdsBefore {
		t.Errorf("open fds: %d before, %d after", fdsBefore, after)
	}
}

// TestRunStatus: the container's exit status is the guest's, and the
// console is the holder's stdout.
func TestRunStatus(t *testing.T) {
	r := newRuntime(t)
	cases := []struct {
		name   string
		kernel []byte
		args   []string
		want   string
		status int
	}{
		{"hello", microguest.Hello(), []string{"a", "b"}, "Hello, world\na b\n", 0},
		{"exit", microguest.Exit(42), nil, "", 42},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := ocitest.Bundle(t, tc.kernel, tc.args, nil)
			console, err := os.CreateTemp(t.TempDir(), "console")
			if err != nil {
				t.Fatal(err)
			}
			defer console.Close()
			cmd := exec.Command(r.bin, "--root", r.root, "create", "--bundle", bundle, "--pid-file", bundle+"/pid", tc.name)
			cmd.Stdout, cmd.Stderr = console, console
			if err := cmd.Run(); err != nil {
				out, _ := os.ReadFile(console.Name())
				t.Fatalf("create: %v: %s", err, out)
			}
			b, _ := os.ReadFile(bundle + "/pid")
			pid, _ := strconv.Atoi(string(b))
			if _, errs, code := r.run("start", tc.name); code != 0 {
				t.Fatalf("start: %s", errs)
			}
			if got := reap(t, pid); got != tc.status {
				t.Errorf("exit status %d, want %d", got, tc.status)
			}
			if got, _ := os.ReadFile(console.Name()); string(got) != tc.want {
				t.Errorf("console %q, want %q", got, tc.want)
			}
			if _, errs, code := r.run("delete", tc.name); code != 0 {
				t.Fatalf("delete: %s", errs)
			}
		})
	}
}

// TestConsoleSocket: with process.terminal, the pty master arrives over
// --console-socket as runc sends it, and the guest console is on it.
func TestConsoleSocket(t *testing.T) {
	r := newRuntime(t)
	bundle := ocitest.Bundle(t, microguest.Hello(), []string{"tty"}, func(s *specs.Spec) { s.Process.Terminal = true })
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan *os.File, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || perr != nil || len(msgs) != 1 {
			got <- nil
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			got <- nil
			return
		}
		got <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	if _, errs, code := r.run("create", "--bundle", bundle, "--pid-file", bundle+"/pid", "--console-socket", sock, "tty"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	master := <-got
	if master == nil {
		t.Fatal("no pty master received on the console socket")
	}
	defer master.Close()
	b, _ := os.ReadFile(bundle + "/pid")
	pid, _ := strconv.Atoi(string(b))
	if _, errs, code := r.run("start", "tty"); code != 0 {
		t.Fatalf("start: %s", errs)
	}
	var console bytes.Buffer
	buf := make([]byte, 256)
	for !strings.Contains(console.String(), "tty") {
		n, err := master.Read(buf)
		console.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if status := reap(t, pid); status != 0 {
		t.Errorf("exit status %d", status)
	}
	if !strings.Contains(console.String(), "Hello, world\r\ntty") {
		t.Errorf("console %q", console.String())
	}
	if _, errs, code := r.run("delete", "tty"); code != 0 {
		t.Fatalf("delete: %s", errs)
	}
}

// TestCreateErrors: bundles the runtime refuses, each with one line
// naming the problem, and nothing left behind.
func TestCreateErrors(t *testing.T) {
	r := newRuntime(t)
	hello := microguest.Hello()
	cases := []struct {
		name string
		edit func(*specs.Spec)
		id   string
		want string
	}{
		{"unknown-setting", func(s *specs.Spec) { s.Annotations = map[string]string{"org.unimon.nope": "1"} }, "a", "unknown setting org.unimon.nope"},
		{"net-args", func(s *specs.Spec) { s.Annotations = map[string]string{"org.unimon.net.args": "bsd"} }, "a", "want go, mirage or none"},
		{"block-undeclared", func(s *specs.Spec) { s.Annotations = map[string]string{"org.unimon.block.disk": "/x"} }, "a", `no block device "disk"`},
		{"memory-env", func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "org.unimon.memory=lots") }, "a", "want MiB"},
		{"memory-limit", func(s *specs.Spec) {
			l := int64(1 << 20)
			s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &l}}
		}, "a", "linux.resources.memory.limit 1048576"},
		{"terminal-no-socket", func(s *specs.Spec) { s.Process.Terminal = true }, "a", "--console-socket"},
		{"bad-id", nil, "../x", "invalid container ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := ocitest.Bundle(t, hello, nil, tc.edit)
			_, errs, code := r.run("create", "--bundle", bundle, tc.id)
			if code == 0 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q, want one line with %q", code, errs, tc.want)
			}
			if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
				t.Errorf("left in root: %v", entries)
			}
		})
	}
}

// TestCLIErrors: command-line mistakes get one line and a hint.
func TestCLIErrors(t *testing.T) {
	r := newRuntime(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"create", "--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"state"}, "missing container ID"},
		{[]string{"exec", "x"}, `command "exec" is not supported`},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"kill", "x", "SIGNOPE"}, `unknown signal "SIGNOPE"`},
		{[]string{"--log-format", "xml", "state", "x"}, "want json or text"},
	}
	for _, tc := range cases {
		_, errs, code := r.run(tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "Try 'unimon-runtime --help'") {
			t.Errorf("%q: exit %d, stderr %q, want %q and a hint", tc.args, code, errs, tc.want)
		}
	}
	out, _, code := r.run("features")
	var f struct {
		OCIVersionMax string `json:"ociVersionMax"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &f) != nil || f.OCIVersionMax != specs.Version {
		t.Errorf("features: exit %d, %s", code, out)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestBlockSetting: org.unimon.block.NAME attaches a file of the root
// filesystem, looked up as if the rootfs were "/": a symlink out of it
// resolves inside it.
func TestBlockSetting(t *testing.T) {
	r := newRuntime(t)
	cases := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"file", "/disk.img", ""},
		{"symlink-stays-inside", "/escape/disk.img", ""},
		{"missing", "/../../nope.img", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := ocitest.Bundle(t, microguest.BlockRoundTrip(), nil, func(s *specs.Spec) {
				s.Annotations = map[string]string{"org.unimon.block." + microguest.BlockDeviceName: tc.path}
			})
			disk := filepath.Join(bundle, "rootfs", "disk.img")
			if err := os.WriteFile(disk, make([]byte, 1024), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/", filepath.Join(bundle, "rootfs", "escape")); err != nil {
				t.Fatal(err)
			}
			_, errs, code := r.run("create", "--bundle", bundle, "--pid-file", bundle+"/pid", tc.name)
			if tc.wantErr != "" {
				if code == 0 || !strings.Contains(errs, tc.wantErr) {
					t.Fatalf("create: exit %d, %q, want %q", code, errs, tc.wantErr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("create: %s", errs)
			}
			b, _ := os.ReadFile(bundle + "/pid")
			pid, _ := strconv.Atoi(string(b))
			if _, errs, code := r.run("start", tc.name); code != 0 {
				t.Fatalf("start: %s", errs)
			}
			if status := reap(t, pid); status != 0 {
				t.Errorf("exit status %d", status)
			}
			got, _ := os.ReadFile(disk)
			if !bytes.Equal(got[microguest.BlockRoundTripOffset:], microguest.BlockPattern[:]) {
				t.Errorf("disk.img does not hold the pattern the guest wrote")
			}
			if _, errs, code := r.run("delete", tc.name); code != 0 {
				t.Fatalf("delete: %s", errs)
			}
		})
	}
}
