package ocitest

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Task is a `ctr run` in the background, its output collected.
type Task struct {
	ID      string
	Console *LockedBuffer
	c       *Containerd
	exited  chan error
}

// Run starts `ctr run --rm --runc-binary runtime ARGS... REF ID`; args
// are ctr run's options (e.g. --with-ns). Stop it with Kill and Wait.
func (c *Containerd) Run(ctx context.Context, t testing.TB, runtime string, args []string, ref, id string) *Task {
	t.Helper()
	argv := append([]string{"-a", c.Socket, "-n", c.Namespace, "run", "--rm", "--runc-binary", runtime}, args...)
	cmd := exec.CommandContext(ctx, "ctr", append(argv, ref, id)...)
	task := &Task{ID: id, Console: &LockedBuffer{}, c: c, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = task.Console, task.Console
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { task.exited <- cmd.Wait() }()
	return task
}

// WaitFor waits until the console shows s, failing t if ctr exits first.
func (task *Task) WaitFor(t testing.TB, s string) {
	t.Helper()
	for !strings.Contains(task.Console.String(), s) {
		select {
		case err := <-task.exited:
			task.exited <- err // for Wait
			t.Fatalf("ctr run %s exited (%v) before %q:\n%s", task.ID, err, s, task.Console.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill sends the task signal (a name such as SIGTERM) and returns ctr
// run's result once it has exited.
func (task *Task) Kill(ctx context.Context, t testing.TB, signal string) error {
	t.Helper()
	if out, err := task.c.Ctr(ctx, "tasks", "kill", "-s", signal, task.ID); err != nil {
		t.Errorf("ctr tasks kill %s: %v\n%s", task.ID, err, out)
	}
	return <-task.exited
}

// LockedBuffer is a bytes.Buffer a command writes while the test reads.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
