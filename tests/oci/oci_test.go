//go:build linux && amd64

package oci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/internal/ocitest"
	"github.com/unimon/unimon/ociimage"
)

// unikernel builds the Go unikernel package pkg once per test run.
var built sync.Map // pkg -> func() ([]byte, error)

func unikernel(t testing.TB, pkg string, net ...string) []byte {
	t.Helper()
	f, _ := built.LoadOrStore(pkg, sync.OnceValues(func() ([]byte, error) {
		dir, err := os.MkdirTemp("", "unimon-oci-guest-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "guest.hvt")
		var log bytes.Buffer
		if _, err := gobuild.Build(context.Background(), gobuild.Options{Package: pkg, Output: out, Dir: "../..", Net: net, Stderr: &log}); err != nil {
			return nil, fmt.Errorf("%w\n%s", err, log.String())
		}
		return os.ReadFile(out)
	}))
	b, err := f.(func() ([]byte, error))()
	if err != nil {
		t.Fatalf("unimon build %s: %v", pkg, err)
	}
	return b
}

// linuxBinary is tests/oci/linuxprog as a static Linux executable.
func linuxBinary(t testing.TB) []byte {
	t.Helper()
	bin := ocitest.Build(t, "./tests/oci/linuxprog")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// runCase is one image run by an engine: its file and default
// arguments, a console substring and the exit status to expect.
type runCase struct {
	name   string
	file   []byte
	args   []string
	want   string
	status int
}

// TestContainerd runs packed images with `ctr run --runc-binary
// unimon-runtime` on a private containerd: console text and exit status
// come through, for micro-guests, a Go unikernel and a Linux container
// that goes to runc; nothing is left in the runtime's root afterwards.
func TestContainerd(t *testing.T) {
	kvmtest.Require(t)
	ocitest.Need(t, "containerd", "ctr", "runc")
	rt := ocitest.Build(t, "./cmd/unimon-runtime")
	ns := netnstest.New(t)
	cd := ocitest.StartContainerd(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	goGuest := unikernel(t, "./tests/goguests/guest")
	cases := []runCase{
		{"micro-hello", microguest.Hello(), []string{"from", "ctr"}, "Hello, world\nfrom ctr\n", 0},
		{"micro-exit", microguest.Exit(7), nil, "", 7},
		{"go-hello", goGuest, []string{"hello", "x"}, `hello: args=["x"]`, 0},
		{"go-exit", goGuest, []string{"exit", "5"}, "exiting with 5", 5},
		{"linux-runc", linuxBinary(t), []string{"y"}, `linuxprog: a Linux process, NSpid:`, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := "docker.io/unimon-test/" + tc.name + ":latest"
			if out, err := cd.Ctr(ctx, "images", "import", ocitest.Image(t, tc.file, ref, tc.args...)); err != nil {
				t.Fatalf("ctr images import: %v\n%s", err, out)
			}
			out, err := cd.Ctr(ctx, "run", "--rm", "--runc-binary", rt, ref, tc.name)
			if got := exitCode(err); got != tc.status || !strings.Contains(out, tc.want) {
				t.Fatalf("ctr run: exit %d (%v), want %d; output %q, want %q", got, err, tc.status, out, tc.want)
			}
		})
	}
	// ctr run -t: the shim passes --console-socket and relays the pty;
	// script(1) gives ctr the terminal it insists on.
	t.Run("tty", func(t *testing.T) {
		if _, err := exec.LookPath("script"); err != nil {
			t.Fatalf("script (util-linux) is needed: %v", err)
		}
		ref := "docker.io/unimon-test/micro-hello:latest"
		ctr := fmt.Sprintf("ctr -a %s -n %s run --rm -t --runc-binary %s %s tty", cd.Socket, cd.Namespace, rt, ref)
		out, err := exec.CommandContext(ctx, "script", "-qec", ctr, "/dev/null").CombinedOutput()
		// Each terminal on the way turns "\n" into "\r\n" its own way:
		// compare the lines, not the line ends.
		if err != nil || !strings.Contains(strings.ReplaceAll(string(out), "\r", ""), "Hello, world\nfrom ctr\n") {
			t.Fatalf("ctr run -t: %v, output %q", err, out)
		}
	})
	checkRootEmpty(t, filepath.Join("/run/containerd/runc", cd.Namespace))
}

// defaultRuntimeRoot is unimon-runtime's root when a caller gives none.
const defaultRuntimeRoot = "/run/unimon-runtime"

// dirEntries returns the names in dir (none if it does not exist).
func dirEntries(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

// checkRootEmpty: after delete, the runtime root holds no container
// (runc's own root under it may remain, empty).
func checkRootEmpty(t *testing.T, root string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "runc" {
			if sub, _ := os.ReadDir(filepath.Join(root, "runc")); len(sub) == 0 {
				continue
			}
		}
		t.Errorf("left behind in %s: %s", root, e.Name())
	}
	if out, _ := exec.Command("pgrep", "-f", "__unimon_holder "+root).Output(); len(out) > 0 {
		t.Errorf("holder processes left behind: %s", out)
	}
}

// cniPod is what the network tests share: the runtime built, a host and
// a pod namespace joined by a CNI bridge, containerd in the host one.
type cniPod struct {
	ctx       context.Context
	rt        string // unimon-runtime
	host, pod *netnstest.NS
	cd        *ocitest.Containerd
	net       ocitest.CNINet // what the bridge plugin gave the pod
}

// newCNIPod sets up a cniPod on subnet for container id; tools are what
// the test needs besides containerd and tc.
func newCNIPod(t *testing.T, id, subnet string, tools ...string) *cniPod {
	t.Helper()
	kvmtest.Require(t)
	ocitest.Need(t, append([]string{"containerd", "ctr", "runc", "tc"}, tools...)...)
	p := &cniPod{rt: ocitest.Build(t, "./cmd/unimon-runtime"), host: netnstest.New(t), pod: netnstest.New(t)}
	p.cd = ocitest.StartContainerd(t, p.host)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	p.ctx = ctx
	p.net = ocitest.CNIBridge(t, ctx, p.host, p.pod, id, subnet)
	return p
}

// TestCNINetwork: a Go unikernel on a CNI bridge network, in a pod
// whose pause container is a Linux one (runc), answers ping from the host
// side of the bridge; its MAC is eth0's, it got the
// address as MirageOS-style arguments, and after SIGTERM or SIGKILL (and
// the shim's delete) the tap and the tc filters are gone from the
// container's namespace.
func TestCNINetwork(t *testing.T) {
	p := newCNIPod(t, "unimon-ping", "10.99.7.0/24", "ping")
	ctx, rt, host, pod, cd, cni := p.ctx, p.rt, p.host, p.pod, p.cd, p.net

	ref := "docker.io/unimon-test/ping:latest"
	// The guest's address style is a setting; ctr 1.6 has no
	// --annotation, so the image carries it (in its environment).
	image := ocitest.ImageOf(t, ociimage.Image{Kernel: unikernel(t, "./tests/oci/pingguest", "service0"), Name: ref,
		Annotations: map[string]string{ociimage.SettingNetArgs: "mirage"}})
	if out, err := cd.Ctr(ctx, "images", "import", image); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	// Only the guest may answer: the pod's own kernel, which also has
	// the address on eth0, must not.
	if out, err := exec.Command("ip", "netns", "exec", pod.Name(), "sysctl", "-w", "net.ipv4.icmp_echo_ignore_all=1").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v\n%s", err, out)
	}
	// A mixed pod: a Linux "pause" container in the same namespace, run by
	// runc through unimon-runtime, as Kubernetes' sandbox would be.
	pauseRef := "docker.io/unimon-test/pause:latest"
	if out, err := cd.Ctr(ctx, "images", "import", ocitest.Image(t, linuxBinary(t), pauseRef, "pause")); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	if out, err := cd.Ctr(ctx, "run", "-d", "--runc-binary", rt, "--with-ns", "network:"+pod.Path(), pauseRef, "pause"); err != nil {
		t.Fatalf("ctr run pause: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join("/run/containerd/runc", cd.Namespace, "runc", "pause")); err != nil {
		t.Errorf("the pause container is not runc's: %v", err)
	}
	defer func() {
		cd.Ctr(ctx, "tasks", "kill", "pause")
		for range 100 {
			if out, _ := cd.Ctr(ctx, "tasks", "ls"); !strings.Contains(out, "RUNNING") {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if out, err := cd.Ctr(ctx, "tasks", "delete", "pause"); err != nil {
			t.Errorf("ctr tasks delete pause: %v\n%s", err, out)
		}
		if out, err := cd.Ctr(ctx, "containers", "delete", "pause"); err != nil {
			t.Errorf("ctr containers delete pause: %v\n%s", err, out)
		}
		checkRootEmpty(t, filepath.Join("/run/containerd/runc", cd.Namespace))
	}()

	want := fmt.Sprintf("pingguest: %s at %s, args [\"--ipv4=%s\" \"--ipv4-gateway=%s\"]", cni.IP, cni.MAC, cni.Addr, cni.Gateway)
	// SIGTERM: the holder stops the guest and unplugs itself; SIGKILL:
	// the tap and filters stay until the shim's delete removes them.
	for _, sig := range []struct {
		name   string
		status int
	}{{"SIGTERM", 128 + 15}, {"SIGKILL", 128 + 9}} {
		id := "ping-" + strings.ToLower(sig.name)
		task := cd.Run(ctx, t, rt, []string{"--with-ns", "network:" + pod.Path()}, ref, id)
		// The guest prints its first line once the tap is plugged.
		task.WaitFor(t, "pingguest: ")
		ok := false
		for range 30 { // the tap's queue comes up asynchronously: retry, do not time
			if exec.CommandContext(ctx, "ip", "netns", "exec", host.Name(), "ping", "-c", "1", "-W", "1", cni.IP).Run() == nil {
				ok = true
				break
			}
		}
		err := task.Kill(ctx, t, sig.name)
		if !ok {
			t.Errorf("%s: no ping reply from %s; console:\n%s", id, cni.IP, task.Console.String())
		}
		if got := exitCode(err); got != sig.status {
			t.Errorf("exit status %d after %s, want %d; console:\n%s", got, sig.name, sig.status, task.Console.String())
		}
		if !strings.Contains(task.Console.String(), want) {
			t.Errorf("console %q, want %q", task.Console.String(), want)
		}
		ocitest.CheckUnplugged(t, pod)
	}
}

// TestPodman: `podman run --runtime unimon-runtime` of a packed image,
// podman with its own storage and run directories.
func TestPodman(t *testing.T) {
	kvmtest.Require(t)
	ocitest.Need(t, "podman", "conmon")
	rt := ocitest.Build(t, "./cmd/unimon-runtime")
	ns := netnstest.New(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// podman passes the runtime no --root (and a --runtime-flag would
	// not reach the delete of its cleanup process), so the state goes to
	// the default root: what the test adds there must be gone after.
	before := dirEntries(t, defaultRuntimeRoot)
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	podman := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := ns.Command(ctx, "podman", append([]string{"--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"),
			"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--tmpdir", filepath.Join(dir, "tmp")}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = append(os.Environ(), "CONTAINERS_POLICY_JSON="+policy)
		err := cmd.Run()
		return out.String(), err
	}
	t.Cleanup(func() {
		podman("rm", "-a", "-f")
		podman("system", "reset", "-f")
	})
	cases := []runCase{
		{"hello", microguest.Hello(), []string{"from", "podman"}, "Hello, world\nfrom podman\n", 0},
		{"exit", microguest.Exit(9), nil, "", 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := "localhost/unimon-test/" + tc.name + ":latest"
			if out, err := podman("load", "-i", ocitest.Image(t, tc.file, ref, tc.args...)); err != nil {
				t.Fatalf("podman load: %v\n%s", err, out)
			}
			out, err := podman("run", "--rm", "--runtime", rt, "--network", "none", ref)
			if got := exitCode(err); got != tc.status || !strings.Contains(out, tc.want) {
				t.Fatalf("podman run: exit %d (%v), want %d; output %q, want %q", got, err, tc.status, out, tc.want)
			}
		})
	}
	for name := range dirEntries(t, defaultRuntimeRoot) {
		if !before[name] {
			t.Errorf("left behind in %s: %s", defaultRuntimeRoot, name)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "run", "*", "*")); len(entries) > 0 {
		var left []string
		for _, e := range entries {
			if regexp.MustCompile(`/[0-9a-f]{64}$`).MatchString(e) {
				left = append(left, e)
			}
		}
		if len(left) > 0 {
			t.Errorf("containers left in podman's run directory: %v", left)
		}
	}
}
