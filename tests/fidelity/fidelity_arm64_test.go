//go:build linux

package fidelity

import (
	"debug/elf"
	"regexp"
	"strconv"
	"testing"
)

// The arm64 cases (this file also puts the package in the ARM64 lane,
// which builds the guest on the host: goguests.Images). Linux arm64
// reports an undefined instruction and a privileged one alike: SIGILL
// with ILL_ILLOPC.
var archCases = []fidelityCase{
	{"IllegalInstruction", mem, []string{"ill"}, 2, []string{`(?m)^SIGILL: illegal instruction$`, `(?m)^PC=0x[0-9a-f]+ m=\d+ sigcode=1$`, `(?m)^instruction bytes: 0x0 0x0 0x0 0x0 `}},
	{"PrivilegedRegister", mem, []string{"gp"}, 2, []string{`(?m)^SIGILL: illegal instruction$`, `(?m)^PC=0x[0-9a-f]+ m=\d+ sigcode=1$`, `(?m)^instruction bytes: 0x0 0x10 0x38 0xd5 `}},
	// golang.org/x/sys/cpu takes the features from AT_HWCAP
	// (/proc/self/auxv); the program's own MRS of ID_AA64ISAR0_EL1 is
	// emulated as Linux does, and the two agree.
	{"IDRegisters", mem, []string{"cpu"}, 0, []string{`(?m)^cpu: arm64 fp=true asimd=true aes: hwcap=(true mrs=true|false mrs=false)$`}},
}

// A fault the program has no handler for gives one crash report and
// status 255; its PC is in main.main by the image's symbol table (the
// lane's VM has no go tool addr2line).
func TestCrashReport(t *testing.T) {
	status, console, _ := run(t, 128<<20, "nohandler")
	if status != 255 {
		t.Errorf("exit status %d, want 255", status)
	}
	m := regexp.MustCompile(`unimon: fatal page fault: esr=0x[0-9a-f]{16}\n  pc=0x([0-9a-f]{16}) far=0x0000000000000008 `).FindStringSubmatch(console)
	if m == nil {
		t.Fatalf("no crash report with pc and far in the console:\n%s", console)
	}
	pc, _ := strconv.ParseUint(m[1], 16, 64)
	f, err := elf.Open(guest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	in := ""
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && pc >= s.Value && pc < s.Value+s.Size {
			in = s.Name
		}
	}
	if in != "main.main" {
		t.Errorf("pc %#x is in %q, want main.main", pc, in)
	}
}
