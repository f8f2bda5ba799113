package hypercall

import (
	"fmt"
	"io"
)

// consoleChunk is the most guest output one console Write carries. PUTS
// copies guest bytes out of guest memory before handing them over (see
// console), so a huge PUTS is copied and written a chunk at a time rather
// than all at once.
const consoleChunk = 64 << 10

// consoleResult is what one Write of the console writer returned.
type consoleResult struct {
	n   int
	err error
}

// console writes PUTS output to the Core's writer from a goroutine of its
// own, so that a writer that blocks (stdout a full pipe nobody reads)
// holds up only that goroutine: the PUTS handler waits for the Write or
// for the Core's interrupt, whichever comes first, and cancelling the
// guest is never stuck behind the console.
//
// The writer goroutine is given a copy of the output, never guest memory:
// a Write abandoned by an interrupt may go on after the VM and its
// memory are gone. That Write keeps its copy (one chunk) until it returns,
// whenever that is, and its result is dropped; the goroutine then exits,
// since Close has closed reqs. If the writer never returns, the goroutine
// and its chunk stay for the life of the process: nothing can end a Write
// from the outside, and a tender must not wait for one.
//
// A console that can say "not now" instead of waiting (a pipe, /dev/null:
// see openNowait) is first offered each chunk on the PUTS handler's own
// thread, without waiting: what it takes at once costs no hand-off to the
// goroutine and back, two thread switches (the vCPU's goroutine is locked
// to its thread), and the first PUTS no thread for the goroutine. Only
// what is left goes through the goroutine, which starts on first use.
type console struct {
	w       io.Writer
	nowait  int // a non-blocking open file description of w, for writeNow; -1 if none
	started bool
	buf     []byte // the chunk being written; the handler's again once res has answered
	reqs    chan []byte
	res     chan consoleResult
}

func newConsole(w io.Writer) *console {
	return &console{w: w, nowait: openNowait(w), reqs: make(chan []byte, 1), res: make(chan consoleResult, 1)}
}

// loop is the writer goroutine.
func (c *console) loop() {
	for b := range c.reqs {
		n, err := c.w.Write(b)
		c.res <- consoleResult{n, err}
	}
}

// write writes data, a chunk at a time, each chunk in one Write, and
// reports the first failed or short Write. It returns ErrInterrupted as
// soon as stop is closed, even with a Write in progress, which it then
// abandons; stop must stay closed for good after that, as the Core's
// interrupt does, since the abandoned Write still owns buf. Not safe for
// concurrent use: the Core calls it from PUTS only.
func (c *console) write(data []byte, stop <-chan struct{}) error {
	total := len(data)
	for len(data) > 0 {
		select {
		case <-stop:
			return ErrInterrupted
		default:
		}
		if n := c.writeNow(data[:min(len(data), consoleChunk)]); n > 0 {
			data = data[n:]
			continue
		}
		if !c.started {
			c.started = true
			go c.loop()
		}
		chunk := data[:min(len(data), consoleChunk)]
		if cap(c.buf) < len(chunk) {
			c.buf = make([]byte, min(total, consoleChunk))
		}
		c.buf = c.buf[:len(chunk)]
		copy(c.buf, chunk)
		c.reqs <- c.buf // never blocks: the goroutine is idle, reqs has room
		var r consoleResult
		select {
		case r = <-c.res:
		case <-stop:
			return ErrInterrupted
		}
		written := total - len(data) + r.n
		switch {
		case r.err != nil:
			return fmt.Errorf("writing %d bytes to the console (%d written): %w", total, written, r.err)
		case r.n != len(chunk):
			return fmt.Errorf("wrote %d of %d bytes to the console: %w", written, total, io.ErrShortWrite)
		}
		data = data[len(chunk):]
	}
	return nil
}

// close ends the writer goroutine once its Write, if any, returns. No
// write may be in progress or follow.
func (c *console) close() {
	if c.started {
		close(c.reqs)
	}
	c.closeNowait()
}
