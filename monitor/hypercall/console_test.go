package hypercall

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// recordingWriter keeps every Write's length and the bytes.
type recordingWriter struct {
	buf    bytes.Buffer
	writes []int
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.buf.Write(p)
}

// putsAt encodes a PUTS struct at argGPA for [data, data+n) and returns
// guest memory.
func putsAt(t *testing.T, data, n uint64) *guestmem.Memory {
	t.Helper()
	mem, err := guestmem.New(memSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	b, _ := mem.Bytes(argGPA, guestabi.PutsSize)
	(&guestabi.Puts{Data: data, Len: n}).Encode(b)
	return mem
}

// Output reaches the console in order, one Write per chunk: a PUTS of a
// few bytes is one Write, as upstream's write(2), a huge one several.
func TestPutsChunks(t *testing.T) {
	for _, tt := range []struct {
		n      uint64
		writes []int
	}{
		{0, nil},
		{10, []int{10}},
		{consoleChunk, []int{consoleChunk}},
		{2*consoleChunk + 5, []int{consoleChunk, consoleChunk, 5}},
	} {
		mem := putsAt(t, bufGPA, tt.n)
		data, _ := mem.Bytes(bufGPA, tt.n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		w := new(recordingWriter)
		_, d := registeredCore(t, w)
		if _, err := d.Dispatch(mem, uint64(guestabi.HypercallPuts), argGPA); err != nil {
			t.Fatalf("PUTS of %d bytes: %v", tt.n, err)
		}
		if !bytes.Equal(w.buf.Bytes(), data) || len(w.writes) != len(tt.writes) {
			t.Fatalf("PUTS of %d bytes: writes %v (%d bytes), want %v", tt.n, w.writes, w.buf.Len(), tt.writes)
		}
		for i := range tt.writes {
			if w.writes[i] != tt.writes[i] {
				t.Errorf("PUTS of %d bytes: writes %v, want %v", tt.n, w.writes, tt.writes)
			}
		}
	}
}

// blockingWriter blocks every Write until release is closed, and records
// what it was given.
type blockingWriter struct {
	entered chan []byte
	release chan struct{}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.entered <- p
	<-w.release
	return len(p), nil
}

// A PUTS stuck in the console's Write returns ErrInterrupted on
// Interrupt, and the Write it abandons owns a copy of the output, not
// guest memory: it may finish after the memory is gone.
func TestPutsInterruptedInBlockedWrite(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	mem := putsAt(t, bufGPA, 5)
	data, _ := mem.Bytes(bufGPA, 5)
	copy(data, "hello")
	w := &blockingWriter{entered: make(chan []byte, 1), release: make(chan struct{})}
	core, err := NewCore(w)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher()
	if err := core.Register(d); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := d.Dispatch(mem, uint64(guestabi.HypercallPuts), argGPA)
		errc <- err
	}()
	given := <-w.entered
	core.Interrupt()
	err = <-errc
	var he *Error
	if !errors.Is(err, ErrInterrupted) || !errors.As(err, &he) || he.Call != guestabi.HypercallPuts || errors.Is(err, ErrGuest) {
		t.Fatalf("got %v, want a PUTS *Error wrapping ErrInterrupted", err)
	}
	// Later PUTS do not reach the console at all.
	if _, err := d.Dispatch(mem, uint64(guestabi.HypercallPuts), argGPA); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("PUTS after Interrupt: %v", err)
	}
	if err := core.Close(); err != nil {
		t.Fatal(err)
	}
	copy(data, "XXXXX") // the guest's memory changes, or goes
	if string(given) != "hello" {
		t.Errorf("the abandoned Write sees %q, want its own copy %q", given, "hello")
	}
	close(w.release)
	for i := 0; i < 300 && runtime.NumGoroutine() > goroutines; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > goroutines {
		t.Errorf("goroutines: %d before, %d after the Write returned", goroutines, got)
	}
}
