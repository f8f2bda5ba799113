package netnstest

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// threadNetns names the network namespace of the calling thread.
func threadNetns(t *testing.T) string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestNamespaceLifecycle(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		ns := New(t)
		name = ns.Name()
		if !strings.HasPrefix(name, Prefix) {
			t.Errorf("name %q lacks prefix %q", name, Prefix)
		}
		if _, err := os.Stat(ns.Path()); err != nil {
			t.Fatalf("namespace file: %v", err)
		}
	})
	if name == "" {
		t.Skip("inner test skipped: needs root")
	}
	// The inner test's cleanup has run: the namespace is gone.
	if _, err := os.Stat("/var/run/netns/" + name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s still there after cleanup: %v", name, err)
	}
}

func TestAddTapAndDo(t *testing.T) {
	ns := New(t)
	// A name the host is unlikely to have, so finding it proves Do ran
	// in the namespace.
	ifname := "nt" + ns.Name()[len(Prefix):]
	ns.AddTap(ifname, "10.213.0.1/24", 1400)

	var got *net.Interface
	var addrs []net.Addr
	if err := ns.Do(func() error {
		var err error
		if got, err = net.InterfaceByName(ifname); err != nil {
			return err
		}
		addrs, err = got.Addrs()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.MTU != 1400 || got.Flags&net.FlagUp == 0 {
		t.Errorf("%s: MTU %d flags %v, want 1400 and up", ifname, got.MTU, got.Flags)
	}
	if len(addrs) != 1 || addrs[0].String() != "10.213.0.1/24" {
		t.Errorf("%s addresses %v, want 10.213.0.1/24", ifname, addrs)
	}
	if _, err := net.InterfaceByName(ifname); err == nil {
		t.Errorf("%s visible outside the namespace", ifname)
	}
	// Command runs inside the namespace.
	out, err := ns.Command(context.Background(), "ip", "-o", "link", "show").CombinedOutput()
	if err != nil || !strings.Contains(string(out), ifname) {
		t.Errorf("ip link show via Command: %v: %s", err, out)
	}
	// Do returns f's error.
	want := errors.New("from f")
	if err := ns.Do(func() error { return want }); err != want {
		t.Errorf("Do returned %v, want f's error", err)
	}
	// A function that leaves through runtime.Goexit is reported.
	if err := ns.Do(func() error { runtime.Goexit(); return nil }); err == nil {
		t.Error("Do after Goexit: no error")
	}
}

// TestDoRestoresThreads runs many Do calls, then checks that no thread
// the scheduler hands out is left in a test namespace.
func TestDoRestoresThreads(t *testing.T) {
	home := threadNetns(t)
	ns := New(t)
	var mu sync.Mutex
	var inside string
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			err := ns.Do(func() error {
				n, err := os.Readlink("/proc/thread-self/ns/net")
				mu.Lock()
				inside = n
				mu.Unlock()
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if inside == home {
		t.Fatalf("Do ran in the test's own namespace %s", home)
	}
	for range 64 {
		wg.Go(func() {
			if got := threadNetns(t); got != home {
				t.Errorf("a thread is in %s, want %s", got, home)
			}
		})
	}
	wg.Wait()
}

func TestDisableIPv6(t *testing.T) {
	ns := New(t)
	ns.IP("tuntap", "add", "dev", "nt6", "mode", "tap")
	ns.DisableIPv6("nt6")
	var val []byte
	if err := ns.Do(func() error {
		var err error
		val, err = os.ReadFile("/proc/sys/net/ipv6/conf/nt6/disable_ipv6")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(val)) != "1" {
		t.Errorf("disable_ipv6 = %q", val)
	}
}
