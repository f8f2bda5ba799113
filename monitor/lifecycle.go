package monitor

import (
	"context"
	"fmt"
	"sync"
)

// errClosedDuringRun is the cause Close gives the Run it stops, so that
// Run's error says why the guest stopped.
var errClosedDuringRun = fmt.Errorf("%w: Close was called during Run", ErrClosed)

// lifecycle is what makes a VM's Run and Close safe to call in any order
// from any goroutines: Run runs at most once, and Close stops a Run in
// progress and waits for it to return before anything Run uses (the vCPU
// and its kvm_run page, guest memory, the hypercall core) is freed.
type lifecycle struct {
	mu      sync.Mutex
	started bool                    // Run was called
	closed  bool                    // Close was called
	cancel  context.CancelCauseFunc // cancels the Run in progress
	done    chan struct{}           // closed once that Run has returned

	closeOnce sync.Once
	closeErr  error
}

// start begins a Run under ctx. It returns the context the Run must obey,
// cancelled by ctx or by Close, and finish, which the Run calls last of
// all, once nothing it started can touch the VM any more.
func (l *lifecycle) start(ctx context.Context) (_ context.Context, finish func(), _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, nil, fmt.Errorf("%w: Run after Close", ErrClosed)
	case l.started:
		return nil, nil, fmt.Errorf("%w: Run called again (a VM runs once)", ErrClosed)
	}
	l.started = true
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	l.cancel, l.done = cancel, done
	return ctx, func() {
		cancel(nil)
		close(done)
	}, nil
}

// stop marks the VM closed, so no Run can start, then stops the Run in
// progress, if any, and waits until it has returned.
func (l *lifecycle) stop() {
	l.mu.Lock()
	l.closed = true
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel != nil {
		cancel(errClosedDuringRun)
		<-done
	}
}
