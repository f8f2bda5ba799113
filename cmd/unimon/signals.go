package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// How a run ends on a signal, decided signal by signal against solo5-hvt
// (README: "Signals").
var (
	// exitOne are the signals solo5-hvt handles: it prints "Exiting on
	// signal N" and exits 1.
	exitOne = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	// caughtSignals are the signals unimon catches: exitOne, and SIGPIPE, which
	// the console's own writes raise when stdout's reader goes away, so
	// the run says why before it dies by SIGPIPE (exitIfCaught); left at
	// its default, a write to a gdb connection gone away would kill the
	// monitor as well.
	caughtSignals = append([]syscall.Signal{syscall.SIGPIPE}, exitOne...)
	// defaultAction are the signals solo5-hvt leaves at their default
	// action, which ends it killed by the signal, silently (a shell shows
	// 128+N). The Go runtime would ignore all of them but SIGHUP, so
	// unimon gives each its default action back, one rt_sigaction each
	// before the guest runs. Catching them instead, to print a line,
	// costs a round trip to the Go runtime's signal-mask thread per
	// signal: 0.4 ms of a 6 ms micro-guest run when unimon did (issue 12).
	defaultAction = append([]syscall.Signal{
		syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM,
		syscall.SIGVTALRM, syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGIO,
	}, osDefaultAction...)
	// Left to the Go runtime, deliberately: SIGQUIT (every goroutine's
	// stack and exit 2, worth more for debugging than upstream's core
	// dump), SIGPROF (the runtime's profiler), SIGURG (its preemption),
	// SIGSYS (the seccomp filter's), the crash signals (SIGSEGV, SIGBUS,
	// SIGFPE, SIGILL, SIGTRAP, SIGABRT: a Go traceback) and those both
	// ignore or stop on by default (SIGCHLD, SIGWINCH, SIGTSTP, SIGTTIN,
	// SIGTTOU, SIGCONT).
)

const (
	// runGrace is how long a caught signal waits for the run to stop
	// the guest and return before unimon exits anyway: a console write
	// blocked on a full pipe must never keep it alive.
	runGrace = 2 * time.Second
	// messageGrace bounds the wait for the one-line message, since
	// stderr can be a full pipe too.
	messageGrace = 500 * time.Millisecond
)

// signalExit catches the terminating signals for one run. The first one
// cancels ctx, which stops the guest; then the run's own goroutine, or
// after runGrace the watcher, ends the process with the signal's status.
//
// Catching signals costs the first signal.Notify a thread of the
// runtime's and a round trip to it per signal, so the watcher sets it up
// on its own while the run opens the unikernel and creates the VM; ready
// says it is done, and the run waits for it before the guest's first
// instruction. (A signal in those first milliseconds meets the Go
// runtime's default, as one during the runtime's own start-up always
// did.)
type signalExit struct {
	ctx     context.Context
	cancel  context.CancelFunc
	ch      chan os.Signal
	stderr  io.Writer
	ready   chan struct{} // closed once the signals are caught
	stopped chan struct{}

	mu     sync.Mutex
	caught syscall.Signal

	exiting sync.Once
}

// catchSignals starts catching the signals; call wait before anything
// a signal must not interrupt uncaught, and stop when the run is over.
// With processExits it also gives defaultAction their default action,
// for the rest of the process's short life: the Go runtime has no way to
// take them back, so a process that goes on after the run (a test calling
// run) keeps the runtime's handling of them.
func catchSignals(stderr io.Writer, processExits bool) *signalExit {
	if processExits {
		for _, sig := range defaultAction {
			restoreDefault(sig)
		}
	}
	s := &signalExit{ch: make(chan os.Signal, 1), stderr: stderr, ready: make(chan struct{}), stopped: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.watch()
	return s
}

// wait returns once the signals are caught.
func (s *signalExit) wait() { <-s.ready }

func (s *signalExit) watch() {
	var sigs []os.Signal
	for _, sig := range caughtSignals {
		sigs = append(sigs, sig)
	}
	signal.Notify(s.ch, sigs...)
	close(s.ready)
	var sig syscall.Signal
	select {
	case v := <-s.ch:
		sig = v.(syscall.Signal)
	case <-s.stopped:
		return
	}
	s.mu.Lock()
	s.caught = sig
	s.mu.Unlock()
	s.cancel()
	grace := time.NewTimer(runGrace)
	defer grace.Stop()
	select {
	case <-grace.C:
	case <-s.ch: // a second signal: the user means it
	case <-s.stopped:
		return
	}
	s.exit(sig, nil)
}

// stop ends the watch when the run ended without a signal. With release
// it also gives the signals back to the Go runtime (signal.Stop), as a
// run in a process that goes on must; a process about to exit skips
// that, since it costs a round trip to the runtime's thread per signal,
// as catching them did.
func (s *signalExit) stop(release bool) {
	if release {
		s.wait() // so that Stop follows Notify
		signal.Stop(s.ch)
	}
	close(s.stopped)
	s.cancel()
}

// exitIfCaught ends the process if a signal ended the run, or if runErr
// is a write to a stdout whose reader has gone (EPIPE): that ends
// solo5-hvt by SIGPIPE, and unimon the same way, saying why.
func (s *signalExit) exitIfCaught(runErr error) {
	s.mu.Lock()
	sig := s.caught
	s.mu.Unlock()
	if errors.Is(runErr, syscall.EPIPE) && (sig == 0 || sig == syscall.SIGPIPE) {
		s.exit(syscall.SIGPIPE, runErr)
	}
	if sig != 0 {
		s.exit(sig, nil)
	}
}

// exit writes one line, waiting at most messageGrace for it, and ends
// the process as solo5-hvt ends on sig. It does not return.
func (s *signalExit) exit(sig syscall.Signal, reason error) {
	s.exiting.Do(func() {
		msg := fmt.Sprintf("unimon: exiting on signal %d (%s)\n", int(sig), unix.SignalName(sig))
		if reason != nil {
			msg = fmt.Sprintf("unimon: %v: exiting as on signal %d (%s)\n", reason, int(sig), unix.SignalName(sig))
		}
		written := make(chan struct{})
		go func() {
			io.WriteString(s.stderr, msg)
			close(written)
		}()
		select {
		case <-written:
		case <-time.After(messageGrace):
		}
		die(sig)
	})
	select {} // the first caller is ending the process
}

// die ends the process the way solo5-hvt ends on sig.
func die(sig syscall.Signal) {
	for _, s := range exitOne {
		if sig == s {
			os.Exit(1)
		}
	}
	// Killed by the signal itself, so that a parent's wait sees
	// WIFSIGNALED as with upstream.
	raiseDefault(sig)
	// Not reached; if it were, the status a shell would show.
	os.Exit(128 + int(sig))
}
