//go:build !unimon_nodebug

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
)

// TestCLIGDB: --gdb --gdb-port=N waits for gdb, which runs the guest to
// its exit status.
func TestCLIGDB(t *testing.T) {
	kvmtest.Require(t)
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Fatalf("gdb is not installed (make deps installs it): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a free port for the CLI to take
	kernel := writeGuest(t, guests.Exit(9))
	done := make(chan int, 1)
	var errOut string
	go func() {
		status, _, e := runCLI("--mem=8", "--gdb", fmt.Sprintf("--gdb-port=%d", port), kernel)
		errOut = e
		done <- status
	}()
	// gdb retries until the CLI listens; the stub serves the first
	// connection, so nothing else may probe the port.
	var out []byte
	for i := 0; i < 100; i++ {
		out, err = exec.Command("gdb", "-nx", "-q", "-batch", "-ex",
			fmt.Sprintf("target remote 127.0.0.1:%d", port), "-ex", "continue").CombinedOutput()
		if !strings.Contains(string(out), "Connection refused") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(string(out), "exited with code 011") {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	if status := <-done; status != 9 || !strings.Contains(errOut, fmt.Sprintf("waiting for gdb on 127.0.0.1:%d", port)) {
		t.Fatalf("status %d, stderr %q", status, errOut)
	}
}

// Ctrl-C while the CLI waits for gdb ends it as it ends a run: exit
// status 1 and one line saying why.
func TestCLIGDBWaitInterrupted(t *testing.T) {
	kvmtest.Require(t)
	bin := cli(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a free port for the CLI to take
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	p := startCLI(t, bin, devNull, "--mem=8", "--gdb", fmt.Sprintf("--gdb-port=%d", port), writeGuest(t, guests.Hello()))
	deadline := time.Now().Add(30 * time.Second)
	for !signalsCaught(p.proc.Pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.proc.Signal(syscall.SIGINT)
	ws, errOut := p.wait(t)
	want := fmt.Sprintf("unimon: waiting for gdb on 127.0.0.1:%d (target remote 127.0.0.1:%d)\nunimon: exiting on signal 2 (SIGINT)\n", port, port)
	if !ws.Exited() || ws.ExitStatus() != 1 || errOut != want {
		t.Fatalf("%v, stderr %q; want exit status 1 and %q", describe(ws), errOut, want)
	}
}
