package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/netnstest"
)

// TestOpenFDsDuringRun lists the fds of the locked-down CLI while a Go
// unikernel with a block file and a tap runs, and fails on any the run
// does not need: the unikernel file and /dev/kvm are closed once the VM
// exists. What stays, each named by what it is for:
//   - 0-2: stdio (the guest's console is stdout), and stdout, a pipe,
//     opened once more, non-blocking, for console writes that need not
//     wait (hypercall's console);
//   - the block file and the tap (/dev/net/tun);
//   - the VM and its vCPU (anon_inode:kvm-vm, anon_inode:kvm-vcpu:0);
//   - POLL's wait set (hypercall.Core): an epoll instance over its
//     timerfd, its interrupt eventfd and the tap;
//   - the Go runtime's netpoller (which timers need): an epoll instance
//     over its wake-up eventfd, created before the lock-down by
//     sandbox.LockDown.
func TestOpenFDsDuringRun(t *testing.T) {
	kvmtest.Require(t)
	if *measure {
		t.Skip("-measure: the child is strace, not the CLI")
	}
	kernel := goGuest(t)
	disk := write(t, "disk.img", make([]byte, 1<<20))
	ns := netnstest.New(t)
	r := startGoNet(t, ns, kernel, disk)
	fds := openFDs(t, r.cmd.Process.Pid)
	watches := map[int][]int{}
	for fd, target := range fds {
		if target == "anon_inode:[eventpoll]" {
			watches[fd] = epollTargets(t, r.cmd.Process.Pid, fd)
		}
	}
	r.stop(t)

	stdout := fds[1]
	for fd := range 3 {
		if _, ok := fds[fd]; !ok {
			t.Errorf("stdio fd %d is not open", fd)
		}
		delete(fds, fd)
	}
	byTarget := map[string][]int{}
	for fd, target := range fds {
		byTarget[target] = append(byTarget[target], fd)
	}
	take := func(target string, n int) []int {
		got := byTarget[target]
		if len(got) != n {
			t.Errorf("%d fds on %s, want %d", len(got), target, n)
		}
		delete(byTarget, target)
		slices.Sort(got)
		return got
	}
	if strings.HasPrefix(stdout, "pipe:") {
		take(stdout, 1)
	}
	take(disk, 1)
	tap := take("/dev/net/tun", 1)
	take("anon_inode:kvm-vm", 1)
	take("anon_inode:kvm-vcpu:0", 1)
	timer := take("anon_inode:[timerfd]", 1)
	events := take("anon_inode:[eventfd]", 2)
	polls := take("anon_inode:[eventpoll]", 2)
	var unexpected []string
	for target, fds := range byTarget {
		unexpected = append(unexpected, fmt.Sprintf("%v → %s", fds, target))
	}
	if len(unexpected) > 0 {
		t.Errorf("fds the run does not need: %s", strings.Join(unexpected, ", "))
	}
	if len(polls) != 2 || len(events) != 2 || len(timer) != 1 || len(tap) != 1 {
		return
	}
	// Tell the two epoll instances apart by what they watch.
	var watched [][]int
	for _, ep := range polls {
		watched = append(watched, watches[ep])
	}
	slices.SortFunc(watched, func(a, b []int) int { return len(a) - len(b) })
	runtime := []int{events[0]}
	if !slices.Contains(watched[0], events[0]) {
		runtime = []int{events[1]}
	}
	waitSet := append([]int{timer[0], tap[0]}, slices.DeleteFunc(slices.Clone(events), func(fd int) bool { return fd == runtime[0] })...)
	slices.Sort(waitSet)
	if !slices.Equal(watched[0], runtime) || !slices.Equal(watched[1], waitSet) {
		t.Errorf("the epoll instances watch %v and %v; want the netpoller's eventfd %v and POLL's wait set %v (timerfd, eventfd, tap)", watched[0], watched[1], runtime, waitSet)
	}
}

// openFDs returns the targets of /proc/pid/fd by fd.
func openFDs(t *testing.T, pid int) map[int]string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]string{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fds[fd], err = os.Readlink(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return fds
}

// epollTargets returns the fds epoll instance ep of pid watches, sorted,
// from its fdinfo's "tfd:" lines.
func epollTargets(t *testing.T, pid, ep int) []int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, ep))
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "tfd:" {
			fd, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("fdinfo of epoll fd %d: %q", ep, line)
			}
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	return fds
}
