//go:build linux

package fidelity

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The amd64 cases: faults of x86 instructions, and the deep stacks (slow
// under the ARM64 lane's emulation, and the same code on both).
var archCases = []fidelityCase{
	{"IllegalInstruction", mem, []string{"ill"}, 2, []string{`(?m)^SIGILL: illegal instruction$`, `(?m)^PC=0x[0-9a-f]+ m=\d+ sigcode=2$`, `(?m)^instruction bytes: 0xf 0xb `}},
	{"GeneralProtection", mem, []string{"gp"}, 2, []string{`(?m)^unexpected fault address 0x0$`,
		`(?m)^\[signal SIGSEGV: segmentation violation code=0x80 addr=0x0 pc=0x[0-9a-f]+\]$`}},
	{"Deep600000", 512 << 20, []string{"deep", "600000"}, 0, []string{`(?m)^deep: 600000$`}},
	// Go's overflow error, at a limit the program set (the default
	// limit: TestStackOverflow1GB).
	{"StackOverflow", 512 << 20, []string{"overflow", "67108864"}, 2, []string{
		`runtime: goroutine stack exceeds 67108864-byte limit`, `fatal error: stack overflow`}},
}

// A goroutine stack grows to Go's default limit, 1 GB on amd64, and
// past it gives Go's fatal error. The stack reaches 512 MiB before the
// limit stops it, so the guest has 1 GiB (a smaller one runs out of
// memory first: README). Slow (the runtime copies a 512 MiB stack; about
// as slow natively): skipped with -short.
func TestStackOverflow1GB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 1 GB stack takes a minute")
	}
	status, console, _ := runFor(t, 6*time.Minute, 1<<30, "overflow")
	if status != 2 || !strings.Contains(console, "runtime: goroutine stack exceeds 1000000000-byte limit") ||
		!strings.Contains(console, "fatal error: stack overflow") {
		t.Errorf("status %d, console:\n%.2000s", status, console)
	}
}

// A fault the program has no handler for gives one crash report and
// status 255; the return addresses in it symbolize with go tool
// addr2line.
func TestCrashReport(t *testing.T) {
	status, console, _ := run(t, 128<<20, "nohandler")
	if status != 255 {
		t.Errorf("exit status %d, want 255", status)
	}
	if !regexp.MustCompile(`unimon: fatal page fault: vector=14 \(#PF\)`).MatchString(console) {
		t.Errorf("no crash report")
	}
	m := regexp.MustCompile(`rip=(0x[0-9a-f]{16}) cr2=0x0000000000000008`).FindStringSubmatch(console)
	if m == nil {
		t.Fatalf("no rip and cr2 in the console:\n%s", console)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "tool", "addr2line", guest(t))
	cmd.Stdin = strings.NewReader(m[1] + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("addr2line: %v", err)
	}
	if !strings.Contains(string(out), "main.main") {
		t.Errorf("rip %s symbolizes as %q, want main.main", m[1], out)
	}
}
