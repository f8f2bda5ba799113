//go:build !unimon_nodebug

package monitor_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/monitor"
)

// gdbPacket frames data as a gdb remote packet.
func gdbPacket(data string) string {
	var sum byte
	for i := range len(data) {
		sum += data[i]
	}
	return fmt.Sprintf("$%s#%02x", data, sum)
}

// gdbAsk sends a packet and reads the stub's reply packet's data.
func gdbAsk(t *testing.T, c net.Conn, r *bufio.Reader, data string) string {
	t.Helper()
	if _, err := c.Write([]byte(gdbPacket(data))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadString('$'); err != nil { // the ack, then the reply
		t.Fatal(err)
	}
	reply, err := r.ReadString('#')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Discard(2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("+")); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(reply, "#")
}

// loopbackListener listens on a free loopback port until t ends.
func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// gdbConns returns both ends of a TCP connection: the monitor's, for
// Config.GDB, and gdb's.
func gdbConns(t *testing.T, ln net.Listener) (monitorEnd, gdbEnd net.Conn) {
	t.Helper()
	gdbEnd, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if monitorEnd, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	return monitorEnd, gdbEnd
}

// closedByPeer reads c to its end, which must come within 10 s: EOF, or
// a reset when the other end closed with bytes of c's still unread.
func closedByPeer(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w, want EOF or a reset", err)
	}
	return nil
}

// TestRaceGDBRunCancelClose is TestRaceRunCancelClose with a gdb session
// (Config.GDB): cancellation or Close while gdb has not said anything
// yet, while gdb looks at the stopped guest, and while the guest runs
// under gdb, stop the guest, end the session, close gdb's connection and
// leave nothing behind; Run's error says why. Under -race it is the test
// for the session's goroutine (gdb's Ctrl-C kicks the vCPU) and its
// cancellation against Close.
func TestRaceGDBRunCancelClose(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ln := loopbackListener(t)
	stages := []struct {
		name string
		// reach brings the session to the stage over gdb's end, c.
		reach func(t *testing.T, c net.Conn)
	}{
		{"gdb-silent", func(t *testing.T, c net.Conn) {}},
		{"stopped-under-gdb", func(t *testing.T, c net.Conn) {
			if got := gdbAsk(t, c, bufio.NewReader(c), "?"); !strings.HasPrefix(got, "S05") && !strings.HasPrefix(got, "T05") {
				t.Fatalf("stop reply %q, want SIGTRAP", got)
			}
		}},
		{"running-under-gdb", func(t *testing.T, c net.Conn) {
			gdbAsk(t, c, bufio.NewReader(c), "?")
			if _, err := c.Write([]byte(gdbPacket("c"))); err != nil {
				t.Fatal(err)
			}
		}},
	}
	ends := []struct {
		name string
		stop func(t *testing.T, vm *monitor.VM, cancel context.CancelFunc)
		want error
	}{
		{"cancel", func(t *testing.T, vm *monitor.VM, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"close", func(t *testing.T, vm *monitor.VM, cancel context.CancelFunc) { closeOK(t, vm) }, monitor.ErrClosed},
	}
	const rounds = 10
	for i := range rounds * len(stages) * len(ends) {
		st, end := stages[i%len(stages)], ends[i/len(stages)%len(ends)]
		monitorEnd, c := gdbConns(t, ln)
		vm, err := monitor.New(monitor.Config{KernelImage: guests.Spin(), Memory: smallMem, GDB: monitorEnd})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := goRun(vm, ctx)
		st.reach(t, c)
		spinFor(i)
		end.stop(t, vm, cancel)
		err = <-errc
		// Under load a Close can come before Run has started, while gdb
		// has said nothing yet: Run then refuses to start.
		early := st.name == "gdb-silent" && errors.Is(err, monitor.ErrClosed) && strings.Contains(err.Error(), "after Close")
		if !early && (!errors.Is(err, end.want) || !strings.Contains(err.Error(), "stopped")) {
			t.Fatalf("iteration %d (%s, %s): Run: %v, want it stopped by %v", i, st.name, end.name, err, end.want)
		}
		closeOK(t, vm)
		cancel()
		// The connection was the VM's: gdb sees it closed.
		if err := closedByPeer(c); err != nil {
			t.Fatalf("iteration %d (%s, %s): gdb's end after the run: %v", i, st.name, end.name, err)
		}
		c.Close()
	}
}

// TestGDBConnClosedByClose: a VM given gdb's connection and closed
// without a Run closes the connection; one New refuses leaves it open,
// the caller's.
func TestGDBConnClosedByClose(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ln := loopbackListener(t)

	monitorEnd, c := gdbConns(t, ln)
	defer c.Close()
	vm, err := monitor.New(monitor.Config{KernelImage: guests.Spin(), Memory: smallMem, GDB: monitorEnd})
	if err != nil {
		t.Fatal(err)
	}
	closeOK(t, vm)
	if err := closedByPeer(c); err != nil {
		t.Fatalf("gdb's end after Close: %v", err)
	}

	monitorEnd, c2 := gdbConns(t, ln)
	defer c2.Close()
	defer monitorEnd.Close()
	if _, err := monitor.New(monitor.Config{KernelImage: guests.Spin(), Memory: 1 << 20, GDB: monitorEnd}); err == nil {
		t.Fatal("New with 1 MiB of memory succeeded")
	}
	if _, err := monitorEnd.Write([]byte("+")); err != nil {
		t.Fatalf("the connection after a failed New: %v, want it open", err)
	}
}
