// Package laneproto is the contract between the ARM64 lane on the host
// (internal/arm64lane) and its /init inside the arm64 virtual machine
// (internal/arm64lane/init): the configuration the host puts into the
// initramfs and the lines /init prints on the serial console.
//
// qemu exits 0 whatever happens inside, so these lines are the only way the
// host learns the outcome; every line starts with Prefix so the host can
// find it among kernel messages and test output.
package laneproto

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ConfigPath is where the host puts the JSON-encoded Config in the initramfs.
const ConfigPath = "/lane.json"

// FilesDir is the initramfs directory that holds the unikernel and the
// block device images of an Exec run.
const FilesDir = "/files"

// TestsDir is the initramfs directory that holds the test binaries.
const TestsDir = "/tests"

// CLIPath is where the initramfs holds the arm64 build of cmd/unimon.
const CLIPath = "/bin/unimon"

// CLIEnv names the environment variable through which /init tells the
// test binaries where the unimon command is, so CLI tests run the real
// binary without a Go toolchain inside the VM.
const CLIEnv = "UNIMON_CLI"

// Config tells /init how to run the test binaries.
type Config struct {
	// Run, when set, is passed to every binary as -test.run.
	Run string
	// Count, when above 1, is passed to every binary as -test.count: a
	// way to repeat a flaky arm64 test.
	Count int `json:",omitempty"`
	// Timeout is passed to every binary as -test.timeout.
	Timeout time.Duration
	// Exec, when set, replaces the test run: /init runs the unimon
	// command with these arguments (scripts/arm64-run), its output
	// straight to the console, then prints an EXIT line with its status.
	Exec []string `json:",omitempty"`
}

// Prefix starts every protocol line.
const Prefix = "UNIMON-ARM64"

// Line kinds, the word after Prefix.
const (
	KindInit    = "INIT"    // /init started; the kernel booted.
	KindBegin   = "BEGIN"   // a binary starts: bin=
	KindResult  = "RESULT"  // a binary ended: Result fields
	KindSummary = "SUMMARY" // all binaries ended: Summary fields
	KindError   = "ERROR"   // the lane itself failed inside the VM: msg=
	KindExit    = "EXIT"    // Config.Exec's unimon ended: status=
)

// Result is the outcome of one test binary.
type Result struct {
	Bin      string
	Exit     int // process exit status; -1 if it could not be started or was killed
	Passed   int // top-level tests that passed
	Failed   int // top-level tests that failed
	Skipped  int // top-level tests that skipped
	KVM      int // tests that passed kvmtest.Require
	Duration time.Duration
	// Crashed names the top-level tests that were running when the binary
	// exited without finishing them (counted in Failed too).
	Crashed []string
}

// OK reports whether the binary succeeded: it exited 0 and no test
// failed or was cut short.
func (r Result) OK() bool { return r.Exit == 0 && r.Failed == 0 && len(r.Crashed) == 0 }

// Summary totals all binaries of a run.
type Summary struct {
	Binaries, Failed, KVM int
}

// Line formats kind with key=value fields. Values must not contain spaces.
func Line(kind string, kv ...string) string {
	var b strings.Builder
	b.WriteString(Prefix)
	b.WriteByte(' ')
	b.WriteString(kind)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %s=%s", kv[i], kv[i+1])
	}
	return b.String()
}

// Line formats r as a RESULT line.
func (r Result) Line() string {
	return Line(KindResult, "bin", r.Bin, "exit", strconv.Itoa(r.Exit),
		"passed", strconv.Itoa(r.Passed), "failed", strconv.Itoa(r.Failed),
		"skipped", strconv.Itoa(r.Skipped), "kvm", strconv.Itoa(r.KVM),
		"seconds", strconv.FormatFloat(r.Duration.Seconds(), 'f', 2, 64),
		"crashed", crashedField(r.Crashed))
}

// crashedField encodes test names (which have no spaces or commas) as one
// field value: "-" for none.
func crashedField(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ",")
}

// Line formats s as a SUMMARY line.
func (s Summary) Line() string {
	return Line(KindSummary, "binaries", strconv.Itoa(s.Binaries),
		"failed", strconv.Itoa(s.Failed), "kvm", strconv.Itoa(s.KVM))
}

// Parse finds a protocol line in a console line, which may carry a
// carriage return or kernel output before the prefix. It returns the kind
// and the fields, or ok false.
func Parse(console string) (kind string, fields map[string]string, ok bool) {
	i := strings.Index(console, Prefix+" ")
	if i < 0 {
		return "", nil, false
	}
	words := strings.Fields(console[i+len(Prefix):])
	if len(words) == 0 {
		return "", nil, false
	}
	fields = make(map[string]string)
	for _, w := range words[1:] {
		k, v, found := strings.Cut(w, "=")
		if !found {
			return "", nil, false
		}
		fields[k] = v
	}
	return words[0], fields, true
}

// ParseResult decodes the fields of a RESULT line.
func ParseResult(f map[string]string) (Result, error) {
	r := Result{Bin: f["bin"]}
	var err error
	num := func(k string) int {
		n, e := strconv.Atoi(f[k])
		if e != nil && err == nil {
			err = fmt.Errorf("result field %s=%q: %w", k, f[k], e)
		}
		return n
	}
	r.Exit, r.Passed, r.Failed = num("exit"), num("passed"), num("failed")
	r.Skipped, r.KVM = num("skipped"), num("kvm")
	secs, e := strconv.ParseFloat(f["seconds"], 64)
	if e != nil && err == nil {
		err = fmt.Errorf("result field seconds=%q: %w", f["seconds"], e)
	}
	r.Duration = time.Duration(secs * float64(time.Second))
	if c := f["crashed"]; c != "" && c != "-" {
		r.Crashed = strings.Split(c, ",")
	}
	if r.Bin == "" && err == nil {
		err = fmt.Errorf("result line without bin=")
	}
	return r, err
}

// ParseSummary decodes the fields of a SUMMARY line.
func ParseSummary(f map[string]string) (Summary, error) {
	var s Summary
	var err error
	for k, p := range map[string]*int{"binaries": &s.Binaries, "failed": &s.Failed, "kvm": &s.KVM} {
		n, e := strconv.Atoi(f[k])
		if e != nil && err == nil {
			err = fmt.Errorf("summary field %s=%q: %w", k, f[k], e)
		}
		*p = n
	}
	return s, err
}
