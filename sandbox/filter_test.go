package sandbox

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// arches are the architectures LockDown supports: each one's program runs
// in x/net/bpf's VM on any host.
var arches = []*arch{&amd64, &arm64}

// TestFilterProgram runs the assembled program of each architecture in
// x/net/bpf's VM over struct seccomp_data records, as the kernel would
// run it: the allowlist, the argument filters (both 32-bit halves of
// each argument) and the special cases decide as documented.
func TestFilterProgram(t *testing.T) {
	const pid = 4242
	const (
		allow = unix.SECCOMP_RET_ALLOW
		trap  = unix.SECCOMP_RET_TRAP
		errno = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	const (
		rw     = unix.PROT_READ | unix.PROT_WRITE
		rx     = unix.PROT_READ | unix.PROT_EXEC
		thread = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_SYSVSEM | unix.CLONE_THREAD
	)
	tests := []struct {
		name string
		call string
		args []uint64
		want uint32
	}{
		{"read", "read", nil, allow},
		{"futex", "futex", []uint64{0, 0, 1}, allow},
		{"exit_group", "exit_group", nil, allow},
		{"openat", "openat", nil, trap},
		{"socket", "socket", []uint64{unix.AF_INET, unix.SOCK_STREAM}, trap},
		{"execve", "execve", nil, trap},
		{"ptrace", "ptrace", nil, trap},
		{"accept4 without Allow", "accept4", nil, trap},
		{"KVM_RUN", "ioctl", []uint64{5, 0xae80}, allow},
		{"KVM_SET_REGS", "ioctl", []uint64{5, 0x4090ae82}, trap},
		{"TUNSETIFF", "ioctl", []uint64{5, unix.TUNSETIFF}, trap},
		{"KVM_RUN with high bits", "ioctl", []uint64{5, 1<<32 | 0xae80}, trap},
		{"KVM_RUN in the high half", "ioctl", []uint64{5, 0xae80 << 32}, trap},
		// A failed argument test leaves the argument in the accumulator:
		// it must not then pass for the number of a later allowed call.
		{"ioctl whose request is tgkill's number, on fd pid", "ioctl", []uint64{pid, 131}, trap},
		{"ioctl whose request is read's number", "ioctl", []uint64{5, 63}, trap},
		{"mmap rw", "mmap", []uint64{0, 4096, rw, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}, allow},
		{"mmap rx", "mmap", []uint64{0, 4096, rx, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}, trap},
		{"mmap exec only", "mmap", []uint64{0, 4096, unix.PROT_EXEC}, trap},
		{"mmap rx with high bits", "mmap", []uint64{0, 4096, 1<<40 | rx}, trap},
		{"mprotect rw", "mprotect", []uint64{0, 4096, rw}, allow},
		{"mprotect rx", "mprotect", []uint64{0, 4096, rx}, trap},
		{"clone thread", "clone", []uint64{thread}, allow},
		{"clone process", "clone", []uint64{uint64(unix.SIGCHLD)}, trap},
		{"clone process, CLONE_THREAD in the high half", "clone", []uint64{uint64(unix.CLONE_THREAD)<<32 | uint64(unix.SIGCHLD)}, trap},
		{"clone thread in a new net namespace", "clone", []uint64{thread | unix.CLONE_NEWNET}, trap},
		{"clone thread in a new user namespace", "clone", []uint64{thread | unix.CLONE_NEWUSER}, trap},
		{"clone3", "clone3", nil, errno},
		{"tgkill own thread", "tgkill", []uint64{pid, 1, uint64(unix.SIGURG)}, allow},
		{"tgkill another process", "tgkill", []uint64{1, 1, uint64(unix.SIGKILL)}, trap},
		{"tgkill own pid with high bits", "tgkill", []uint64{1<<32 | pid, 1, uint64(unix.SIGURG)}, trap},
	}
	for _, a := range arches {
		f, err := newFilter(a, pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			nr, ok := a.number(tt.call)
			if !ok {
				t.Fatalf("%s: no %s", a.goarch, tt.call)
			}
			if strings.Contains(tt.name, "number") {
				// The request is the number of a call: read's or tgkill's here.
				other := map[uint64]string{131: "tgkill", 63: "read"}[tt.args[1]]
				n, _ := a.number(other)
				tt.args = []uint64{tt.args[0], uint64(n)}
			}
			got, err := f.Action(nr, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s: %s: action %#x, want %#x", a.goarch, tt.name, got, tt.want)
			}
		}
	}
}

// TestFilterABIs checks the tests before the number's: a call of another
// ABI (seccomp_data.arch) kills the process, an x32 call on amd64 gets
// ENOSYS, and unknown numbers trap.
func TestFilterABIs(t *testing.T) {
	tests := []struct {
		name  string
		arch  *arch
		audit uint32
		nr    uint32
		want  uint32
	}{
		{"amd64 read", &amd64, unix.AUDIT_ARCH_X86_64, 0, unix.SECCOMP_RET_ALLOW},
		{"i386 exit (1) on amd64", &amd64, unix.AUDIT_ARCH_I386, 1, unix.SECCOMP_RET_KILL_PROCESS},
		{"aarch64 on amd64", &amd64, unix.AUDIT_ARCH_AARCH64, 63, unix.SECCOMP_RET_KILL_PROCESS},
		{"x32 read", &amd64, unix.AUDIT_ARCH_X86_64, x32Bit, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"x32 write", &amd64, unix.AUDIT_ARCH_X86_64, x32Bit | 1, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"amd64 number 1000", &amd64, unix.AUDIT_ARCH_X86_64, 1000, unix.SECCOMP_RET_TRAP},
		{"arm64 read", &arm64, unix.AUDIT_ARCH_AARCH64, 63, unix.SECCOMP_RET_ALLOW},
		{"arm32 on arm64", &arm64, unix.AUDIT_ARCH_ARM, 3, unix.SECCOMP_RET_KILL_PROCESS},
		{"x86_64 on arm64", &arm64, unix.AUDIT_ARCH_X86_64, 0, unix.SECCOMP_RET_KILL_PROCESS},
		{"arm64 read with the x32 bit", &arm64, unix.AUDIT_ARCH_AARCH64, x32Bit | 63, unix.SECCOMP_RET_TRAP},
		{"arm64 number 1000", &arm64, unix.AUDIT_ARCH_AARCH64, 1000, unix.SECCOMP_RET_TRAP},
	}
	for _, tt := range tests {
		f, err := newFilter(tt.arch, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.run(tt.audit, tt.nr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: action %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// TestFilterAllow checks that Allow's names are allowed outright, also
// the argument-filtered ones (--gdb allows every ioctl), and nothing else
// changes.
func TestFilterAllow(t *testing.T) {
	for _, a := range arches {
		f, err := newFilter(a, 1, append([]string{"ioctl", "read"}, SocketServerCalls...))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			call string
			args []uint64
			want uint32
		}{
			{"ioctl", []uint64{5, 0x4090ae82}, unix.SECCOMP_RET_ALLOW},
			{"accept4", nil, unix.SECCOMP_RET_ALLOW},
			{"epoll_ctl", nil, unix.SECCOMP_RET_ALLOW},
			{"read", nil, unix.SECCOMP_RET_ALLOW},
			{"openat", nil, unix.SECCOMP_RET_TRAP},
			{"mmap", []uint64{0, 4096, unix.PROT_EXEC}, unix.SECCOMP_RET_TRAP},
		} {
			nr, _ := a.number(c.call)
			if got, err := f.Action(nr, c.args...); err != nil || got != c.want {
				t.Errorf("%s: %s%v: action %#x (%v), want %#x", a.goarch, c.call, c.args, got, err, c.want)
			}
		}
		if _, err := newFilter(a, 1, []string{"no_such_call"}); err == nil {
			t.Errorf("%s: an unknown name was allowed", a.goarch)
		}
	}
}

// TestCallsKnown checks every name the package allows exists on both
// architectures (newFilter does not check the package's own names).
func TestCallsKnown(t *testing.T) {
	var names []string
	for _, c := range Calls {
		names = append(names, c.Name)
	}
	for _, c := range argCalls(&amd64, 1) {
		names = append(names, c.Name)
	}
	names = append(names, SocketServerCalls...)
	names = append(names, "clone3")
	for _, a := range arches {
		for _, n := range names {
			if _, ok := a.number(n); !ok {
				t.Errorf("%s has no system call %s", a.goarch, n)
			}
		}
	}
	if slices.ContainsFunc(argCalls(&amd64, 1), func(c argCall) bool { return slices.ContainsFunc(Calls, func(d Call) bool { return d.Name == c.Name }) }) {
		t.Errorf("a call is both in Calls and filtered by its arguments")
	}
}

// TestSysnumAnchors checks the generated tables against numbers written
// out from the kernel's tables (arch/x86/entry/syscalls/syscall_64.tbl,
// include/uapi/asm-generic/unistd.h), both ways.
func TestSysnumAnchors(t *testing.T) {
	anchors := []struct {
		arch *arch
		name string
		nr   int
	}{
		{&amd64, "read", 0}, {&amd64, "ioctl", 16}, {&amd64, "clone", 56}, {&amd64, "tgkill", 234},
		{&amd64, "openat", 257}, {&amd64, "newfstatat", 262}, {&amd64, "clone3", 435},
		{&arm64, "ioctl", 29}, {&arm64, "openat", 56}, {&arm64, "read", 63}, {&arm64, "newfstatat", 79},
		{&arm64, "tgkill", 131}, {&arm64, "clone", 220}, {&arm64, "mmap", 222}, {&arm64, "clone3", 435},
	}
	for _, an := range anchors {
		if nr, ok := an.arch.number(an.name); !ok || nr != an.nr {
			t.Errorf("%s: %s is %d (%v), want %d", an.arch.goarch, an.name, nr, ok, an.nr)
		}
		if got := an.arch.name(an.nr); got != an.name {
			t.Errorf("%s: %d is %s, want %s", an.arch.goarch, an.nr, got, an.name)
		}
	}
	for _, a := range arches {
		if got := a.name(100000); got != "unknown" {
			t.Errorf("%s: 100000 is %s", a.goarch, got)
		}
	}
}

// TestFilterString checks the listing names the calls the number tests
// are for.
func TestFilterString(t *testing.T) {
	f, err := newFilter(&arm64, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := f.String()
	for _, want := range []string{"// ioctl\n", "// read\n", "// clone3\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("listing lacks %q:\n%s", want, s)
		}
	}
}

// TestFilterAllowMany allows nearly every call, so that the search's
// splits jump farther than a conditional jump reaches (through an
// unconditional one): every call still gets its own verdict.
func TestFilterAllowMany(t *testing.T) {
	denied := []string{"openat", "execve", "socket", "ptrace", "clone3", "mmap", "ioctl"}
	for _, a := range arches {
		var allow []string
		for _, n := range a.names {
			if n != "" && !slices.Contains(denied, n) {
				allow = append(allow, n)
			}
		}
		f, err := newFilter(a, 1, allow)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(f.Program, func(r bpf.RawInstruction) bool { _, ok := r.Disassemble().(bpf.Jump); return ok }) {
			t.Errorf("%s: %d instructions and no long jump", a.goarch, len(f.Program))
		}
		for nr, n := range a.names {
			want := uint32(unix.SECCOMP_RET_ALLOW)
			switch {
			case n == "clone3":
				want = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
			case n == "" || slices.Contains(denied, n):
				want = unix.SECCOMP_RET_TRAP
			}
			var args []uint64
			if n == "mmap" || n == "ioctl" {
				args = []uint64{0, 0x4090ae82, unix.PROT_EXEC} // neither KVM_RUN nor without PROT_EXEC
			}
			if got, err := f.Action(nr, args...); err != nil || got != want {
				t.Errorf("%s: %d (%s): action %#x (%v), want %#x", a.goarch, nr, n, got, err, want)
			}
		}
	}
}

// TestFilterNotFromPolicy checks a Filter made by hand (no architecture)
// gives an error, not a crash.
func TestFilterNotFromPolicy(t *testing.T) {
	ret, err := bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	f := &Filter{Program: []bpf.RawInstruction{ret}}
	if _, err := f.Action(0); err == nil {
		t.Error("Action on a Filter without an architecture gave no error")
	}
	if s := f.String(); s != "  0: ret #2147418112\n" {
		t.Errorf("String: %q", s)
	}
}
