package monitor_test

// The lifecycle of a VM driven from several goroutines at once: Run,
// cancellation and Close in every order, a second Run, and a console
// writer that blocks. These tests exist to run under the race detector
// (scripts/test.sh runs this package with -race); without it they still
// catch crashes and hangs.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/monitor"
)

// newVM is monitor.New for a test guest, failing t on error.
func newVM(t testing.TB, image []byte, console io.Writer) *monitor.VM {
	t.Helper()
	vm, err := monitor.New(monitor.Config{KernelImage: image, Memory: smallMem, Console: console})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return vm
}

// stopped reports whether err is what Run returns when something stopped
// it: ctx's cancellation or Close.
func stopped(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, monitor.ErrClosed)
}

func TestRunTwiceIsAnError(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	vm := newVM(t, guests.Exit(3), nil)
	defer vm.Close()
	if status, err := vm.Run(context.Background()); status != 3 || err != nil {
		t.Fatalf("first Run: %d, %v", status, err)
	}
	if _, err := vm.Run(context.Background()); !errors.Is(err, monitor.ErrClosed) {
		t.Fatalf("second Run: %v, want ErrClosed", err)
	}
	if err := vm.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := vm.Run(context.Background()); !errors.Is(err, monitor.ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
	if err := vm.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Two Runs at once on one VM: one runs the guest, the other is refused
// at once, whichever goroutine gets there first.
func TestConcurrentRunsOneRefused(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	vm := newVM(t, guests.Spin(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := vm.Run(ctx)
			errs <- err
		}()
	}
	first := <-errs // the refused one: the other spins until cancelled
	if !errors.Is(first, monitor.ErrClosed) || errors.Is(first, context.Canceled) {
		t.Errorf("refused Run: %v, want ErrClosed", first)
	}
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("running Run: %v, want context.Canceled", err)
	}
	if err := vm.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Close while the guest runs (spinning without exits, or asleep in a long
// POLL) stops it and waits for Run; Run says it was closed. Under load the
// goroutine may not have entered Run when Close comes; Run then refuses
// to start, and the test tries again.
func TestCloseDuringRun(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for name, image := range map[string][]byte{"spin": guests.Spin(), "poll": guests.PollTimeout(uint64(time.Hour))} {
		t.Run(name, func(t *testing.T) {
			for try := 0; ; try++ {
				if try == 20 {
					t.Fatal("Run never started before Close in 20 tries")
				}
				vm := newVM(t, image, nil)
				errc := goRun(vm, context.Background())
				time.Sleep(20 * time.Millisecond) // usually inside the guest by now
				if err := vm.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				switch err := <-errc; {
				case errors.Is(err, monitor.ErrClosed) && strings.Contains(err.Error(), "during Run"):
					return
				case !errors.Is(err, monitor.ErrClosed) || !strings.Contains(err.Error(), "after Close"):
					t.Fatalf("Run: %v, want ErrClosed", err)
				}
			}
		})
	}
}

// raceIterations is how many times TestRaceRunCancelClose races Run,
// cancellation and Close on fresh VMs. The ARM64 lane's nested, emulated
// KVM is several times slower, so it runs fewer (there is no race
// detector in the lane; the crashes are what it catches).
func raceIterations() int {
	if runtime.GOARCH == "arm64" {
		return 100
	}
	return 400
}

// TestRaceRunCancelClose runs Run, cancellation and Close against each
// other on purpose, in every interleaving the scheduler gives, with guests
// that spin, sleep in POLL, print or halt at once (so some runs end on
// their own while being stopped). Under -race it is the test for the
// lifecycle: the Kick callback against Close's unmapping of kvm_run, and
// Close against Run's use of the VM.
func TestRaceRunCancelClose(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	images := [][]byte{guests.Spin(), guests.PollTimeout(uint64(time.Hour)), guests.Hello(), guests.PutsLoop(50)}
	scenarios := []struct {
		name string
		do   func(t *testing.T, vm *monitor.VM, i int)
	}{
		{"cancel-then-close", func(t *testing.T, vm *monitor.VM, i int) {
			ctx, cancel := context.WithCancel(context.Background())
			errc := goRun(vm, ctx)
			spinFor(i)
			cancel()
			checkRunErr(t, <-errc)
			closeOK(t, vm)
		}},
		{"close-during-run", func(t *testing.T, vm *monitor.VM, i int) {
			errc := goRun(vm, context.Background())
			spinFor(i)
			closeOK(t, vm)
			checkRunErr(t, <-errc)
		}},
		{"cancel-and-close-at-once", func(t *testing.T, vm *monitor.VM, i int) {
			ctx, cancel := context.WithCancel(context.Background())
			errc := goRun(vm, ctx)
			spinFor(i)
			var wg sync.WaitGroup
			wg.Go(cancel)
			wg.Go(func() { closeOK(t, vm) })
			wg.Wait()
			checkRunErr(t, <-errc)
		}},
		{"cancelled-before-run", func(t *testing.T, vm *monitor.VM, i int) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := vm.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Run with a cancelled context: %v", err)
			}
			closeOK(t, vm)
		}},
		{"two-runs-and-close", func(t *testing.T, vm *monitor.VM, i int) {
			a, b := goRun(vm, context.Background()), goRun(vm, context.Background())
			spinFor(i)
			closeOK(t, vm)
			checkRunErr(t, <-a)
			checkRunErr(t, <-b)
		}},
	}
	n := raceIterations()
	for i := range n {
		s := scenarios[i%len(scenarios)]
		vm := newVM(t, images[i/len(scenarios)%len(images)], io.Discard)
		s.do(t, vm, i)
		if t.Failed() {
			t.Fatalf("iteration %d (%s)", i, s.name)
		}
	}
	t.Logf("%d iterations of %d scenarios", n, len(scenarios))
}

// goRun runs vm in a goroutine and delivers Run's error.
func goRun(vm *monitor.VM, ctx context.Context) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := vm.Run(ctx)
		errc <- err
	}()
	return errc
}

// spinFor lets the scheduler run the other goroutines for a while that
// varies with i, so the races hit different points of Run: not started
// yet, booting, inside KVM_RUN, inside a hypercall.
func spinFor(i int) {
	for range i % 7 * 3 {
		runtime.Gosched()
	}
	if i%11 == 0 {
		time.Sleep(time.Millisecond)
	}
}

// checkRunErr accepts what a raced Run may return: the guest's own end, or
// having been stopped (by ctx or Close), or a refused second Run.
func checkRunErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !stopped(err) {
		t.Errorf("Run: %v", err)
	}
}

func closeOK(t *testing.T, vm *monitor.VM) {
	t.Helper()
	if err := vm.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// blockedPipe is stdout as a full pipe nobody reads: a real pipe, filled
// until the next Write blocks. entered is closed when the first Write
// starts, returned when it has returned.
type blockedPipe struct {
	r, w     *os.File
	entered  chan struct{}
	returned chan struct{}
	once     sync.Once
}

func newBlockedPipe(t *testing.T) *blockedPipe {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Fill the pipe to the last byte: the write end is non-blocking
	// underneath (os.Pipe), so raw writes stop at EAGAIN however slowly
	// they go (a deadline could expire first on a loaded machine and
	// leave room for the guest's output).
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	chunk := make([]byte, 4096)
	if err := rc.Write(func(fd uintptr) bool {
		for n := len(chunk); n > 0; {
			if _, werr = syscall.Write(int(fd), chunk[:n]); werr == syscall.EAGAIN {
				n /= 2 // the last pages: smaller writes fill them
				werr = nil
			} else if werr != nil {
				return true
			}
		}
		return true
	}); err != nil || werr != nil {
		t.Fatal(err, werr)
	}
	return &blockedPipe{r: r, w: w, entered: make(chan struct{}), returned: make(chan struct{})}
}

func (p *blockedPipe) Write(b []byte) (int, error) {
	first := false
	p.once.Do(func() {
		first = true
		close(p.entered)
	})
	n, err := p.w.Write(b)
	if first {
		close(p.returned)
	}
	return n, err
}

// drain reads the pipe into out until EOF: that lets the stuck Write
// finish, after which w is closed. Both ends are closed when it returns.
func (p *blockedPipe) drain(out io.Writer) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(out, p.r)
	}()
	<-p.returned
	p.w.Close()
	<-done
	p.r.Close()
}

// A console whose Write blocks (stdout a full pipe) does not stop
// cancellation or Close: Run returns while the guest's PUTS is still
// stuck in Write, and the stuck Write finishes later on a copy of the
// output, after the VM and its memory are gone.
func TestBlockedConsoleDoesNotBlockCancel(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			p := newBlockedPipe(t)
			vm := newVM(t, guests.Hello(), p)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := goRun(vm, ctx)
			<-p.entered // the first PUTS is in Write, which blocks
			switch how {
			case "cancel":
				cancel()
				if err := <-errc; !errors.Is(err, context.Canceled) {
					t.Errorf("Run: %v, want context.Canceled", err)
				}
				closeOK(t, vm)
			case "close":
				closeOK(t, vm)
				if err := <-errc; !errors.Is(err, monitor.ErrClosed) {
					t.Errorf("Run: %v, want ErrClosed", err)
				}
			}
			p.drain(io.Discard)
		})
	}
}

// The output a stuck Write finally delivers is the guest's, even though
// guest memory was unmapped meanwhile.
func TestAbandonedConsoleWriteKeepsItsCopy(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	p := newBlockedPipe(t)
	vm := newVM(t, guests.Hello(), p)
	errc := goRun(vm, context.Background())
	<-p.entered
	closeOK(t, vm)
	if err := <-errc; !errors.Is(err, monitor.ErrClosed) {
		t.Fatalf("Run: %v", err)
	}
	var got bytes.Buffer
	p.drain(&got)
	if !bytes.HasSuffix(got.Bytes(), []byte("Hello, world\n")) {
		t.Errorf("the pipe ends with %q, want the guest's first line", fmt.Sprintf("%.40q", got.Bytes()))
	}
}

// closingWriter closes its VM from inside the console's Write, as an
// embedder reacting to guest output might.
type closingWriter struct {
	vm  *monitor.VM
	err chan error
}

func (w *closingWriter) Write(p []byte) (int, error) {
	w.err <- w.vm.Close()
	return len(p), nil
}

// Close from the console writer neither deadlocks nor crashes: the write
// runs on the console's goroutine, so Run can stop while it waits.
func TestCloseFromConsoleWriter(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	w := &closingWriter{err: make(chan error, 1)}
	w.vm = newVM(t, guests.Hello(), w)
	if _, err := w.vm.Run(context.Background()); !errors.Is(err, monitor.ErrClosed) {
		t.Errorf("Run: %v, want ErrClosed", err)
	}
	if err := <-w.err; err != nil {
		t.Errorf("Close from Write: %v", err)
	}
}
