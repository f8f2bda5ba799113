package laneproto

import (
	"reflect"
	"testing"
	"time"
)

func TestResultRoundTrip(t *testing.T) {
	want := Result{Bin: "monitor.test", Exit: 1, Passed: 7, Failed: 2, Skipped: 1, KVM: 9, Duration: 1250 * time.Millisecond,
		Crashed: []string{"TestA", "TestB"}}
	// The serial console adds a carriage return and the kernel may print
	// in front of a line that /init writes.
	kind, f, ok := Parse("[  3.1] random: crng init done" + want.Line() + "\r")
	if !ok || kind != KindResult {
		t.Fatalf("Parse: kind %q ok %v", kind, ok)
	}
	got, err := ParseResult(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.OK() {
		t.Fatal("a result with failures reports OK")
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	want := Summary{Binaries: 3, Failed: 1, KVM: 12}
	kind, f, ok := Parse(want.Line())
	if !ok || kind != KindSummary {
		t.Fatalf("Parse: kind %q ok %v", kind, ok)
	}
	got, err := ParseSummary(f)
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "hello", Prefix, Prefix + " RESULT bin"} {
		if _, _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	if _, err := ParseResult(map[string]string{"bin": "x", "exit": "zero"}); err == nil {
		t.Error("ParseResult accepted a bad number")
	}
}
