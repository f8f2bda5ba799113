// Package netnstest gives tests a private, throw-away network namespace
// to create tap devices in and send traffic through, so no test ever
// touches the host's own interfaces or addresses.
//
// A namespace is named unimon-test-<random hex>, is created with
// `ip netns add` (iproute2) and is deleted by a t.Cleanup registered
// as soon as it exists, so it goes away also when the test fails.
// Everything needs root; New skips the test otherwise.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace this package creates, so a
// leftover from a killed test run is easy to recognise and remove.
const Prefix = "unimon-test-"

// NS is a private network namespace owned by one test. Its methods
// report failures on the t given to New.
type NS struct {
	t    testing.TB
	name string
}

// New creates a namespace and registers its deletion on t. It skips t
// when not running as root, and fails it when iproute2's ip command is
// missing (install the Debian package iproute2) or the namespace cannot
// be made: a root test run must not silently skip network tests.
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and a tap device")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("netnstest: the ip command is needed (Debian package iproute2): %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	ns := &NS{t: t, name: Prefix + hex.EncodeToString(b[:])}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("netnstest: ip netns add %s: %v: %s", ns.name, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		// Deleting unmounts the name; the namespace and its taps vanish
		// once nothing (no fd, no process) holds it any more.
		if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("netnstest: ip netns del %s: %v: %s", ns.name, err, strings.TrimSpace(string(out)))
		}
	})
	// Loopback starts down in a new namespace; tests expect it up.
	ns.IP("link", "set", "lo", "up")
	return ns
}

// Name is the namespace's name, as ip netns knows it.
func (ns *NS) Name() string { return ns.name }

// Path is the namespace's bind mount, the file setns(2) takes.
func (ns *NS) Path() string { return "/var/run/netns/" + ns.name }

// IP runs `ip -n NS args...` and fails the test if it fails.
func (ns *NS) IP(args ...string) {
	ns.t.Helper()
	full := append([]string{"-n", ns.name}, args...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		ns.t.Fatalf("netnstest: ip %s: %v: %s", strings.Join(full, " "), err, strings.TrimSpace(string(out)))
	}
}

// Command returns a command that runs name with args inside the
// namespace (via `ip netns exec`), for tests that start a monitor
// process there.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// AddTap creates tap device name in the namespace, sets its MTU (unless
// mtu is 0), gives it address cidr (unless cidr is empty; use a private
// prefix such as 10.213.0.1/24) and brings it up. It fails the test on
// any error.
func (ns *NS) AddTap(name, cidr string, mtu int) {
	ns.t.Helper()
	ns.IP("tuntap", "add", "dev", name, "mode", "tap")
	if mtu != 0 {
		ns.IP("link", "set", "dev", name, "mtu", strconv.Itoa(mtu))
	}
	if cidr != "" {
		ns.IP("addr", "add", cidr, "dev", name)
	}
	ns.IP("link", "set", "dev", name, "up")
}

// DisableIPv6 turns IPv6 off on interface ifname in the namespace, so a
// test that wants a quiet link does not see router solicitations and
// multicast listener reports the kernel sends when a link comes up. Call
// it between creating an interface and bringing it up.
func (ns *NS) DisableIPv6(ifname string) {
	ns.t.Helper()
	// /proc/sys/net shows the namespace of the thread that opens it, so
	// the write happens inside Do.
	path := "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6"
	if err := ns.Do(func() error { return os.WriteFile(path, []byte("1\n"), 0) }); err != nil {
		ns.t.Fatalf("netnstest: disabling IPv6 on %s: %v", ifname, err)
	}
}

// Do runs f on an OS thread that has entered the namespace and returns
// f's error. Sockets and taps f opens stay in the namespace after Do
// returns and may be used from any goroutine.
//
// f must not start goroutines that expect to be in the namespace, and
// must not call t.FailNow (it runs on another goroutine). If the thread
// cannot be moved back to its original namespace, it is left locked so
// the Go runtime discards it rather than reusing it.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home := false
		// Registered first, so it runs last: a thread that is not back
		// in its own namespace stays locked and dies with the goroutine.
		defer func() {
			if home {
				runtime.UnlockOSThread()
			}
		}()
		err := errors.New("netnstest: function did not return (panic or runtime.Goexit)")
		defer func() { errc <- err }()
		err = ns.enterAndRun(f, &home)
	}()
	return <-errc
}

// enterAndRun is Do's body on the locked thread. It sets *home to
// whether the thread is in its original namespace, also when f panics.
func (ns *NS) enterAndRun(f func() error, home *bool) (err error) {
	*home = true
	// The thread's own namespace, not the process's: another locked
	// thread may have moved, but this one is what must be restored.
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netnstest: open %s: %w", self, err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(ns.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netnstest: open %s: %w", ns.Path(), err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netnstest: setns %s: %w", ns.name, err)
	}
	*home = false
	// Restore in a defer so that a panic or Goexit in f still brings the
	// thread home before Do's deferred unlock decides its fate.
	defer func() {
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			err = errors.Join(err, fmt.Errorf("netnstest: returning thread to its namespace: %w", rerr))
			return
		}
		*home = true
	}()
	return f()
}
