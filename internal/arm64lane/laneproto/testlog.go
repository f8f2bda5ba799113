package laneproto

import "strings"

// TestFlag is the flag /init runs every test binary with: -test.v output
// framed for test2json, so that each event the testing package prints
// (a test starting, passing, failing, skipping) starts with the byte
// testMark and cannot be confused with a test's own output, even when
// that output lacks a final newline.
const TestFlag = "-test.v=test2json"

// testMark is the byte the testing package puts before each event line
// under TestFlag (^V, as cmd/internal/test2json expects).
const testMark = "\x16"

// TestLog follows the output of a test binary run with TestFlag and
// keeps the binary's own account of its top-level tests: which started,
// and how each one ended. A test that started and never ended was running
// when the binary died (a crash in another goroutine, a timeout), so it
// counts as failed however many tests passed before it.
type TestLog struct {
	passed, failed, skipped int
	running                 []string // top-level tests started and not ended, in order
}

// Line records one line of the binary's output and returns it as a
// person should read it, without the framing byte.
func (l *TestLog) Line(line string) string {
	i := strings.Index(line, testMark)
	if i < 0 {
		return line
	}
	event := line[i+len(testMark):]
	display := line[:i] + event
	verb, rest, ok := strings.Cut(event, " ")
	if !ok {
		return display
	}
	rest = strings.TrimLeft(rest, " ")
	switch verb {
	case "===":
		if name, ok := strings.CutPrefix(rest, "RUN "); ok {
			if name = topLevel(name); name != "" {
				l.running = append(l.running, name)
			}
		}
	case "---":
		status, name, ok := strings.Cut(rest, ": ")
		if !ok {
			break
		}
		if name = topLevel(name); name == "" {
			break
		}
		switch status {
		case "PASS":
			l.passed++
		case "FAIL":
			l.failed++
		case "SKIP":
			l.skipped++
		default:
			return display
		}
		l.ended(name)
	}
	return display
}

// topLevel returns the test name at the start of s if it names a
// top-level test, or "" for a subtest (whose name has a '/').
func topLevel(s string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	if strings.Contains(name, "/") {
		return ""
	}
	return name
}

func (l *TestLog) ended(name string) {
	for i, n := range l.running {
		if n == name {
			l.running = append(l.running[:i], l.running[i+1:]...)
			return
		}
	}
}

// Result fills r's counts from the log and the binary's exit status: the
// tests still running when it exited are failed and named in r.Crashed.
// A binary that exits non-zero is never OK, even with no test to blame.
func (l *TestLog) Result(r *Result, exit int) {
	r.Exit = exit
	r.Passed, r.Failed, r.Skipped = l.passed, l.failed+len(l.running), l.skipped
	r.Crashed = append([]string(nil), l.running...)
}
