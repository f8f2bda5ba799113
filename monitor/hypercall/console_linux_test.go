package hypercall

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/leakcheck"
)

// PUTS to a console that is a file: the output arrives whole, in order
// and once, whether the file takes it at once (on the handler's thread,
// without the writer goroutine), in part (the rest through the
// goroutine), not at all until a reader makes room, or is not asked (a
// regular file); and nothing is left open or running after Close.
func TestPutsToFiles(t *testing.T) {
	// fill makes w's pipe full but for free bytes (a multiple of a page)
	// and returns what it wrote.
	fill := func(t *testing.T, r, w *os.File, free int) []byte {
		t.Helper()
		var filled []byte
		rc, err := w.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		page := bytes.Repeat([]byte{'.'}, 4096)
		rc.Write(func(fd uintptr) bool {
			for {
				if _, err := syscall.Write(int(fd), page); err != nil {
					return true // EAGAIN: os.Pipe's ends are non-blocking
				}
				filled = append(filled, page...)
			}
		})
		if _, err := io.ReadFull(r, make([]byte, free)); err != nil {
			t.Fatal(err)
		}
		return filled[free:]
	}
	tests := []struct {
		name     string
		n        uint64
		free     int  // for pipes: bytes free before the PUTS; -1: an empty pipe
		blocking bool // the pipe in blocking mode, as a shell gives stdout
		file     bool // a regular file rather than a pipe
		atOnce   bool // the file takes it all at once: the writer goroutine stays unused
	}{
		{name: "empty pipe", n: 10000, free: -1, atOnce: true},
		{name: "empty pipe, blocking", n: 10000, free: -1, blocking: true, atOnce: true},
		{name: "empty pipe, more than it holds", n: 2*consoleChunk + 5, free: -1},
		{name: "pipe with one free page", n: 10000, free: 4096},
		{name: "pipe with one free page, blocking", n: 10000, free: 4096, blocking: true},
		{name: "full pipe", n: 10000, free: 0},
		{name: "full pipe, blocking", n: 10000, free: 0, blocking: true},
		{name: "regular file", n: 10000, file: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			mem := putsAt(t, bufGPA, tt.n)
			data, _ := mem.Bytes(bufGPA, tt.n)
			for i := range data {
				data[i] = byte('a' + i%26)
			}
			var r, w *os.File
			var err error
			if tt.file {
				w, err = os.Create(filepath.Join(t.TempDir(), "console"))
			} else {
				r, w, err = os.Pipe()
			}
			if err != nil {
				t.Fatal(err)
			}
			var before []byte
			if r != nil {
				defer r.Close()
				if tt.free >= 0 {
					before = fill(t, r, w, tt.free)
				}
				if tt.blocking {
					w.Fd() // which makes os.Pipe's non-blocking end blocking
				}
			}
			core, d := registeredCore(t, w)
			errc := make(chan error, 1)
			go func() {
				_, err := d.Dispatch(mem, uint64(guestabi.HypercallPuts), argGPA)
				errc <- err
			}()
			got := make(chan []byte, 1)
			if r != nil {
				go func() {
					b, _ := io.ReadAll(r)
					got <- b
				}()
			}
			if err := <-errc; err != nil {
				t.Fatalf("PUTS of %d bytes: %v", tt.n, err)
			}
			if tt.atOnce && core.console.started {
				t.Errorf("PUTS of %d bytes went through the writer goroutine", tt.n)
			}
			core.Close() // and with it the console's own description of a pipe
			w.Close()
			var out []byte
			if r != nil {
				out = <-got
			} else if out, err = os.ReadFile(w.Name()); err != nil {
				t.Fatal(err)
			}
			if want := append(before, data...); !bytes.Equal(out, want) {
				t.Errorf("the console got %d bytes, want %d (%d written before the PUTS, then its %d)", len(out), len(want), len(before), tt.n)
			}
		})
	}
}

// /dev/null takes everything at once: no writer goroutine.
func TestPutsToDevNull(t *testing.T) {
	leakcheck.Check(t)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	mem := putsAt(t, bufGPA, 3*consoleChunk)
	core, d := registeredCore(t, null)
	if _, err := d.Dispatch(mem, uint64(guestabi.HypercallPuts), argGPA); err != nil {
		t.Fatal(err)
	}
	if core.console.started {
		t.Errorf("PUTS to /dev/null went through the writer goroutine")
	}
}
