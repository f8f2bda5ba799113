// Package ocitest gives the OCI runtime's tests what they share: the
// unimon-runtime binary built from the tree, bundles and packed images
// of micro-guests, and a private containerd inside a test's network
// namespace, stopped and removed when the test ends.
package ocitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/ociimage"
)

// repoRoot is the module's root directory, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build builds the command package pkg (e.g. "./cmd/unimon-runtime") into
// a temporary directory and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Need fails t when a tool make deps installs is missing.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs containers")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make deps installs it): %v", tool, err)
		}
	}
}

// Bundle writes an OCI bundle whose rootfs holds file at /unikernel.hvt
// and whose config runs it with args; edit may change the spec first.
func Bundle(t testing.TB, file []byte, args []string, edit func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, strings.TrimPrefix(ociimage.KernelPath, "/")), file, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: append([]string{ociimage.KernelPath}, args...), Cwd: "/",
			Env: []string{"PATH=/usr/bin:/bin"}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.UTSNamespace}}},
	}
	if edit != nil {
		edit(s)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Image packs file as image name (with default args) into a tar.
func Image(t testing.TB, file []byte, name string, args ...string) string {
	t.Helper()
	return ImageOf(t, ociimage.Image{Kernel: file, Name: name, Args: args})
}

// ImageOf writes img (for this machine's architecture) into a tar.
func ImageOf(t testing.TB, img ociimage.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img.Arch = runtime.GOARCH
	if err := ociimage.Write(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// Containerd is a private containerd: its own root, state, socket and
// containerd namespace, running inside a test's network namespace.
type Containerd struct {
	NS     *netnstest.NS
	Dir    string
	Socket string
	// Namespace is the containerd namespace ctr uses; the runc shim keeps
	// its runtime state under /run/containerd/runc/<Namespace>, so a
	// unique one keeps the machine's own containers apart.
	Namespace string
	cmd       *exec.Cmd
	exited    chan struct{}
	t         testing.TB
}

// StartContainerd starts containerd in ns and registers its stop: every
// task is killed and deleted, the daemon stopped, its directories and
// the shim's runtime root removed.
func StartContainerd(t testing.TB, ns *netnstest.NS) *Containerd {
	t.Helper()
	Need(t, "containerd", "ctr", "runc", "nsenter")
	dir, err := os.MkdirTemp("", "unimon-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Containerd{NS: ns, Dir: dir, Socket: filepath.Join(dir, "containerd.sock"), Namespace: ns.Name(), t: t}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Socket, c.Socket+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	// nsenter, not `ip netns exec`: that one also remounts /sys, which
	// hides the cgroup hierarchies from runc.
	c.cmd = exec.Command("nsenter", "--net="+ns.Path(), "containerd", "--config", filepath.Join(dir, "config.toml"))
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	// containerd serves once its socket answers; wait for that, failing
	// (not timing) if the daemon exits first.
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }()
	for {
		if err := exec.Command("ctr", "-a", c.Socket, "version").Run(); err == nil {
			break
		}
		select {
		case <-c.exited:
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("containerd exited:\n%s", b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return c
}

// Ctr runs ctr against this containerd and returns its output and error.
func (c *Containerd) Ctr(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"-a", c.Socket, "-n", c.Namespace}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c *Containerd) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := c.Ctr(ctx, "tasks", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			c.Ctr(ctx, "tasks", "kill", "-s", "SIGKILL", id)
			c.Ctr(ctx, "tasks", "delete", "-f", id)
		}
	}
	if out, err := c.Ctr(ctx, "containers", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			c.Ctr(ctx, "containers", "delete", id)
		}
	}
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
	// Snapshots may still be mounted if a test failed half-way.
	if out, err := exec.Command("findmnt", "-rn", "-o", "TARGET").Output(); err == nil {
		for _, m := range strings.Fields(string(out)) {
			if strings.HasPrefix(m, c.Dir+"/") {
				exec.Command("umount", "-l", m).Run()
			}
		}
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		c.t.Errorf("remove containerd dir: %v", err)
	}
	os.RemoveAll(filepath.Join("/run/containerd/runc", c.Namespace))
	// ctr puts containers in the cgroup /NAMESPACE/ID; runtimes remove
	// the container's cgroup, the namespace's is ours to remove.
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", c.Namespace))
	dirs2, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", c.Namespace))
	for _, d := range append(dirs, dirs2...) {
		if err := os.Remove(d); err != nil {
			c.t.Errorf("cgroup %s: %v", d, err)
		}
	}
}
