package monitor_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

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

// TestRaceGDBRunCancelClose is TestRaceRunCancelClose with a gdb session
// (Config.GDB): cancellation or Close while Run waits for gdb, while gdb
// looks at the stopped guest, and while the guest runs under gdb, stop
// the guest, end the session and leave nothing behind; Run's error says
// why. Under -race it is the test for the session's goroutine (gdb's
// Ctrl-C kicks the vCPU) and its cancellation against Close.
func TestRaceGDBRunCancelClose(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stages := []struct {
		name string
		// reach brings the session to the stage; the returned conn, if
		// any, is closed after the run has ended.
		reach func(t *testing.T) net.Conn
	}{
		{"waiting-for-gdb", func(t *testing.T) net.Conn { return nil }},
		{"stopped-under-gdb", func(t *testing.T) net.Conn {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if got := gdbAsk(t, c, bufio.NewReader(c), "?"); !strings.HasPrefix(got, "S05") && !strings.HasPrefix(got, "T05") {
				t.Fatalf("stop reply %q, want SIGTRAP", got)
			}
			return c
		}},
		{"running-under-gdb", func(t *testing.T) net.Conn {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			gdbAsk(t, c, bufio.NewReader(c), "?")
			if _, err := c.Write([]byte(gdbPacket("c"))); err != nil {
				t.Fatal(err)
			}
			return c
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
		vm, err := monitor.New(monitor.Config{KernelImage: guests.Spin(), Memory: smallMem, GDB: ln})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := goRun(vm, ctx)
		c := st.reach(t)
		spinFor(i)
		end.stop(t, vm, cancel)
		err = <-errc
		// Under load a Close can come before Run has started, while
		// nothing has connected yet: Run then refuses to start.
		early := c == nil && errors.Is(err, monitor.ErrClosed) && strings.Contains(err.Error(), "after Close")
		if !early && (!errors.Is(err, end.want) || !strings.Contains(err.Error(), "stopped")) {
			t.Fatalf("iteration %d (%s, %s): Run: %v, want it stopped by %v", i, st.name, end.name, err, end.want)
		}
		closeOK(t, vm)
		cancel()
		if c != nil {
			c.Close()
		}
	}
}
