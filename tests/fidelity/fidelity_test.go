//go:build linux && (amd64 || arm64)

package fidelity

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/internal/guestbuild"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/tests/goguests"
)

var (
	buildOnce sync.Once
	guestPath string
	buildErr  error
	tmpDir    string
)

func TestMain(m *testing.M) { guestbuild.MainWithTempDir(m, "unimon-fidelity-", &tmpDir) }

// guest builds ./guest once (goguests.Images: a block device "disk" and
// testdata/files as its file tree), or, in the ARM64 lane, finds it where
// the lane put it, built on the host.
func guest(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(laneproto.GoGuestsEnv); dir != "" {
		return filepath.Join(dir, goguests.FidelityImage)
	}
	buildOnce.Do(func() {
		guestPath, buildErr = goguests.BuildImage(context.Background(), "../..", tmpDir, goguests.FidelityImage, "")
	})
	if buildErr != nil {
		t.Fatalf("unimon build: %v", buildErr)
	}
	return guestPath
}

// run boots the guest with mem bytes of RAM and args, and returns its
// exit status, console, and the disk's contents afterwards.
func run(t *testing.T, mem uint64, args ...string) (int, string, []byte) {
	return runFor(t, 2*time.Minute, mem, args...)
}

// runFor is run with a timeout.
func runFor(t *testing.T, timeout time.Duration, mem uint64, args ...string) (int, string, []byte) {
	t.Helper()
	kvmtest.Require(t)
	leakcheck.Check(t)
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	blk, err := devices.OpenBlockFile(disk, devices.BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer blk.Close()
	var console bytes.Buffer
	vm, err := monitor.New(monitor.Config{Kernel: guest(t), Memory: mem, Args: args, Console: &console,
		Block: map[string]devices.Block{"disk": blk}})
	if err != nil {
		t.Fatalf("monitor.New: %v", err)
	}
	defer vm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	status, err := vm.Run(ctx)
	if err != nil {
		t.Fatalf("Run(%q): %v\nconsole:\n%s", args, err, console.String())
	}
	b, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	return status, console.String(), b
}

// mem is the guest memory of most cases.
const mem = 128 << 20

// fidelityCase is one run of the guest: its memory, arguments, exit
// status and patterns its console must match.
type fidelityCase struct {
	name     string
	mem      uint64
	args     []string
	status   int
	patterns []string
}

// The cases print what the same program prints on Linux (checked by
// hand with go run; the patterns hold for both).
func TestFidelity(t *testing.T) {
	nilMsg := `invalid memory address or nil pointer dereference`
	tests := append([]fidelityCase{
		{"NilRecovered", mem, []string{"nil"}, 0, []string{`(?m)^recovered: runtime.Error: runtime error: ` + nilMsg + `$`}},
		{"NilUnrecovered", mem, []string{"nilpanic"}, 2, []string{
			`(?m)^panic: runtime error: ` + nilMsg + `$`,
			`(?m)^\[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=0x[0-9a-f]+\]$`,
			`(?m)^goroutine 1 \[running\]:$`, `main\.main\(\)`}},
		{"WildAddress", mem, []string{"wild"}, 2, []string{`(?m)^unexpected fault address 0xdead0000$`, `fatal error: fault`,
			`\[signal SIGSEGV: segmentation violation code=0x1 addr=0xdead0000 pc=0x[0-9a-f]+\]`}},
		{"StringerNilReceiver", mem, []string{"stringer"}, 0, []string{`(?m)^stringer: <nil>$`, `(?m)^stringer: <nil> <nil>$`}},
		{"DivideByZero", mem, []string{"divzero", "0"}, 0, []string{`(?m)^recovered: runtime.Error: runtime error: integer divide by zero$`}},
		{"Goexit", mem, []string{"goexit"}, 0, []string{`(?m)^goexit: deferred call ran\ngoexit: main goes on$`}},
		{"Env", mem, []string{"--unimon:env=GREETING=hello", "--unimon:env=EMPTY=", "env", "GREETING", "EMPTY", "UNSET"}, 0, []string{
			`(?m)^env: GREETING="hello" true$`, `(?m)^env: EMPTY="" true$`, `(?m)^env: UNSET="" false$`}},
		{"StackRlimit", mem, []string{"rlimit"}, 0, []string{`(?m)^rlimit: stack cur=8388608 err=<nil>$`}},
		{"StdinEOF", mem, []string{"stdin"}, 0, []string{`(?m)^stdin: 0 bytes, err=<nil>$`}},
		{"Files", mem, []string{"files"}, 0, []string{
			`(?m)^files: wd=/ err=<nil>$`, `(?m)^files: hello.txt="hello from the file tree\\n" err=<nil>$`,
			`(?m)^files: sub/nested.txt dir=false$`, `(?m)^files: create in the tree: open new.txt: read-only file system$`,
			`(?m)^files: MkdirTemp: true <nil>$`, `(?m)^files: CreateTemp and write: <nil>$`, `(?m)^files: rename: <nil> <nil> true$`,
			`(?m)^files: read back: 10000 <nil>$`, `(?m)^files: symlink: <nil> renamed.txt <nil> true <nil> true <nil> true <nil>$`, `(?m)^files: dev: <nil> 0 <nil> <nil> true$`, `(?m)^files: remove a non-empty directory fails: true$`, `(?m)^files: RemoveAll: <nil> true$`}},
		{"UnknownOption", mem, []string{"--unimon:bogus", "env"}, 1, []string{
			`(?m)^unimon bindings: unknown option --unimon:bogus$`, `--unimon:env=KEY=VALUE`}},
	}, archCases...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, console, _ := run(t, tc.mem, tc.args...)
			if status != tc.status {
				t.Errorf("exit status %d, want %d", status, tc.status)
			}
			for _, p := range tc.patterns {
				if !regexp.MustCompile(p).MatchString(console) {
					t.Errorf("console does not match %q", p)
				}
			}
			if tc.name == "UnknownOption" && regexp.MustCompile(`env:`).MatchString(console) {
				t.Errorf("the program ran despite the unknown option")
			}
			if t.Failed() {
				t.Logf("console:\n%s", console)
			}
		})
	}
}

// File.Sync and fdatasync on a block device succeed, and the data is on
// the host's file when the guest has exited.
func TestSyncBlock(t *testing.T) {
	status, console, disk := run(t, 128<<20, "sync")
	if status != 0 || !regexp.MustCompile(`(?m)^sync: <nil>$`).MatchString(console) {
		t.Errorf("status %d, console:\n%s", status, console)
	}
	if !bytes.HasPrefix(disk, []byte("synced")) {
		t.Errorf("disk starts with %q, want \"synced\"", disk[:6])
	}
}
