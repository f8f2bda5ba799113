//go:build linux && amd64

package gotest

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/leakcheck"
)

const sample = "./internal/gotest/testdata/sample"

// unimon test on a package of this module: it passes without the
// deliberate failure and fails, as go test does, with it.
func TestRunSample(t *testing.T) {
	tests := []struct {
		name     string
		flags    []string
		status   int
		patterns []string
	}{
		{"Pass", []string{"-short", "-skip", "Deliberate"}, 0, []string{`(?m)^ok  \t` + `github.com/unimon/unimon/internal/gotest/testdata/sample\t\d+\.\d+s$`}},
		{"Fail", []string{"-run", "Deliberate|Double"}, 1, []string{
			`(?m)^--- FAIL: TestDeliberateFailure`, `failing on purpose`,
			`(?m)^FAIL\tgithub.com/unimon/unimon/internal/gotest/testdata/sample\t\d+\.\d+s$`, `(?m)^FAIL$`}},
		{"Verbose", []string{"-run", "Testdata|TempDir"}, 0, []string{`(?m)^=== RUN   TestTestdata$`, `(?m)^--- PASS: TestTempDir`, `(?m)^ok  \t`}},
		// A package that imports the bindings itself gets the module's.
		{"WithBindings", nil, 0, []string{`(?m)^ok  \tgithub.com/unimon/unimon/internal/gotest/testdata/withbindings\t`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kvmtest.Require(t)
			leakcheck.Check(t)
			args := []string{"--mem=256"}
			if tc.name == "Verbose" {
				args = append(args, "-v")
			}
			pkg := sample
			if tc.name == "WithBindings" {
				pkg = "./internal/gotest/testdata/withbindings"
			}
			args = append(append(append(args, pkg), "--"), tc.flags...)
			var out bytes.Buffer
			opts, err := ParseArgs(args)
			if err != nil {
				t.Fatal(err)
			}
			opts.Dir, opts.Stdout, opts.Stderr = "../..", &out, &out
			status := 0
			results, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(results, func(r Result) bool { return !r.Passed() }) {
				status = 1
				out.WriteString("FAIL\n")
			}
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			for _, p := range tc.patterns {
				if !regexp.MustCompile(p).Match(out.Bytes()) {
					t.Errorf("output does not match %q", p)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out.String())
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args                  []string
		pkgs, build, testArgs []string
		mem                   uint64
		verbose               bool
		err                   bool
	}{
		{args: nil},
		{args: []string{"./a", "./b"}, pkgs: []string{"./a", "./b"}},
		{args: []string{"--mem=64", "-tags", "x", "-gcflags=-N", "p", "--", "-short", "-run", "X"},
			pkgs: []string{"p"}, build: []string{"-tags", "x", "-gcflags=-N"}, testArgs: []string{"-short", "-run", "X"}, mem: 64 << 20},
		{args: []string{"--mem", "128", "-v"}, mem: 128 << 20, verbose: true},
		{args: []string{"-short", "-run", "A", "p", "--", "-count=1"}, pkgs: []string{"p"}, testArgs: []string{"-short", "-run", "A", "-count=1"}},
		{args: []string{"--mem=3"}, err: true},
		{args: []string{"--mem=lots"}, err: true},
		{args: []string{"-race", "p"}, err: true},
		{args: []string{"-tags"}, err: true},
	}
	for _, tc := range tests {
		o, err := ParseArgs(tc.args)
		if (err != nil) != tc.err {
			t.Errorf("ParseArgs(%q): error %v, want error %v", tc.args, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		if !slices.Equal(o.Packages, tc.pkgs) || !slices.Equal(o.BuildFlags, tc.build) || !slices.Equal(o.TestFlags, tc.testArgs) || o.Memory != tc.mem || o.Verbose != tc.verbose {
			t.Errorf("ParseArgs(%q) = %+v", tc.args, o)
		}
	}
}

func TestTestFlags(t *testing.T) {
	got := testFlags([]string{"-short", "-run", "X", "-test.v", "--count=2", "value"})
	want := []string{"-test.short", "-test.run", "X", "-test.v", "-test.count=2", "value"}
	if !slices.Equal(got, want) {
		t.Errorf("testFlags = %q, want %q", got, want)
	}
}
