package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
)

// TestDebugOptionsUnderFilter runs the debugging options in the
// locked-down CLI, which they widen by what they need: --dumpcore writes
// its core file, --gdb serves a real gdb (which steps and reads memory
// and registers) to the guest's exit.
func TestDebugOptionsUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	t.Run("dumpcore", func(t *testing.T) {
		dir := t.TempDir()
		r := runCLI(t, nil, "--mem=8", "--dumpcore="+dir, write(t, "abort.hvt", microguest.Host.Exit(255)))
		cores, _ := filepath.Glob(filepath.Join(dir, "core.unimon.*"))
		if r.status != 255 || len(cores) != 1 || !strings.Contains(r.stderr, "guest core written to") {
			t.Fatalf("status %d, cores %q, stderr %q", r.status, cores, r.stderr)
		}
	})
	t.Run("gdb", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("the gdb stub is x86_64 only (README: Debugging)")
		}
		if _, err := exec.LookPath("gdb"); err != nil {
			t.Fatalf("gdb is not installed (make deps installs it): %v", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // a free port for the CLI to take
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := command(t, ctx, nil, "--mem=8", "--gdb", fmt.Sprintf("--gdb-port=%d", port), write(t, "exit.hvt", microguest.Host.Exit(9)))
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var out []byte
		for i := 0; i < 100; i++ {
			// A step (debug registers: ioctl) and reads of memory and
			// registers, then on to the guest's exit.
			out, err = exec.CommandContext(ctx, "gdb", "-nx", "-q", "-batch", "-ex",
				fmt.Sprintf("target remote 127.0.0.1:%d", port), "-ex", "stepi", "-ex", "x/2i $pc",
				"-ex", "info registers rip", "-ex", "continue").CombinedOutput()
			if !strings.Contains(string(out), "Connection refused") {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Wait()
		checkNotDenied(t, errb.String())
		if !strings.Contains(string(out), "exited with code 011") || cmd.ProcessState.ExitCode() != 9 {
			t.Fatalf("gdb: %v\n%s\nCLI: status %d, stderr %q", err, out, cmd.ProcessState.ExitCode(), errb.String())
		}
	})
}
