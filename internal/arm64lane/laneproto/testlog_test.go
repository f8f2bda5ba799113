package laneproto

import (
	"reflect"
	"strings"
	"testing"
)

// Output as a test binary prints it under TestFlag (^V marks events).
const (
	okRun = "\x16=== RUN   TestA\n\x16=== RUN   TestA/sub\n    x_test.go:3: hi\n\x16--- PASS: TestA/sub (0.00s)\n" +
		"\x16=== NAME  TestA\nno newline\x16--- PASS: TestA (0.00s)\n\x16=== NAME  \n" +
		"\x16=== RUN   TestB\n    x_test.go:4: s\n\x16--- SKIP: TestB (0.00s)\n" +
		"\x16=== RUN   TestC\n    x_test.go:9: --- FAIL: TestFake (a test's own text)\n\x16--- FAIL: TestC (0.00s)\n\x16FAIL\n"
	// A goroutine of TestE panics: the binary dies with TestE running.
	crashRun = "\x16=== RUN   TestD\n\x16--- PASS: TestD (0.10s)\n\x16=== RUN   TestE\n" +
		"panic: runtime error: invalid memory address or nil pointer dereference\n--- FAIL: TestNotReal\n"
)

func TestTestLog(t *testing.T) {
	tests := []struct {
		name   string
		output string
		exit   int
		want   Result
		ok     bool
	}{
		{"pass", "\x16=== RUN   TestD\n\x16--- PASS: TestD (0.10s)\n\x16PASS\n", 0, Result{Passed: 1}, true},
		{"mixed", okRun, 1, Result{Exit: 1, Passed: 1, Failed: 1, Skipped: 1}, false},
		{"crash", crashRun, 2, Result{Exit: 2, Passed: 1, Failed: 1, Crashed: []string{"TestE"}}, false},
		// Exit status alone fails a binary with nothing to blame.
		{"exit only", "\x16=== RUN   TestD\n\x16--- PASS: TestD (0.10s)\n", 1, Result{Exit: 1, Passed: 1}, false},
	}
	for _, tt := range tests {
		var l TestLog
		var shown []string
		for _, line := range strings.Split(strings.TrimSuffix(tt.output, "\n"), "\n") {
			shown = append(shown, l.Line(line))
		}
		var got Result
		l.Result(&got, tt.exit)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		if got.OK() != tt.ok {
			t.Errorf("%s: OK() = %v", tt.name, got.OK())
		}
		if s := strings.Join(shown, "\n"); strings.Contains(s, testMark) {
			t.Errorf("%s: the framing byte reaches the console: %q", tt.name, s)
		}
	}
}
