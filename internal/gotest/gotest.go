// Package gotest implements `unimon test`: it builds each package's test
// binary as a Go unikernel (internal/gobuild, the same build as `unimon
// build`), runs it under the monitor, and reports like go test: an "ok"
// or "FAIL" line per package, the test output of failures (all of it
// with -v), and a non-zero exit status when a package fails.
package gotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/monitor"
)

// Options configure Run.
type Options struct {
	// Packages are go test's package patterns (default ".").
	Packages []string
	// BuildFlags go to the go command (-tags, -gcflags...).
	BuildFlags []string
	// TestFlags go to the test binaries; go test's short forms (-short,
	// -run X) are given their -test. prefix.
	TestFlags []string
	// Verbose prints every package's output, as go test -v.
	Verbose bool
	// Memory is each unikernel's RAM in bytes (default 512 MiB).
	Memory uint64
	// Dir is where the go command runs (default: the current directory).
	Dir string
	// Stdout receives the report, Stderr the build errors.
	Stdout, Stderr io.Writer
}

// DefaultMemory is a test unikernel's RAM unless Options.Memory says.
const DefaultMemory = 512 << 20

// testTimeout is go test's default -timeout, passed the same way.
const testTimeout = "-test.timeout=10m0s"

// Result is what happened to one package.
type Result struct {
	ImportPath string
	// Status: "ok", "FAIL", "build failed" or "no test files".
	Status  string
	Elapsed time.Duration
	Output  string
}

// Passed reports whether the package did not fail.
func (r Result) Passed() bool { return r.Status == "ok" || r.Status == "no test files" }

// Run tests the packages and prints go test's report; it returns the
// results in package order, and an error only when nothing could be
// tried (the packages could not be listed).
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Memory == 0 {
		opts.Memory = DefaultMemory
	}
	bopts := gobuild.Options{Dir: opts.Dir, BuildFlags: opts.BuildFlags, Stderr: io.Discard}
	b, err := gobuild.NewTestBuilder(ctx, bopts)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	pkgs, err := b.List(ctx, opts.Packages)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "unimon-test-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// Builds run ahead of the runs, two at a time (the go command is
	// parallel itself); runs go one at a time, in package order.
	type built struct {
		img string
		log string
		err error
	}
	done := make([]chan built, len(pkgs))
	sem := make(chan struct{}, 2)
	for i, p := range pkgs {
		done[i] = make(chan built, 1)
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if p.Error != nil || !p.HasTests() {
				done[i] <- built{}
				return
			}
			var log bytes.Buffer
			img := filepath.Join(work, strconv.Itoa(i)+".hvt")
			err := b.BuildTest(ctx, p, img, &log)
			done[i] <- built{img, log.String(), err}
		}()
	}
	var results []Result
	for i, p := range pkgs {
		bd := <-done[i]
		r := Result{ImportPath: p.ImportPath}
		switch {
		case p.Error != nil:
			r.Status, r.Output = "build failed", p.Error.Err+"\n"
		case !p.HasTests():
			r.Status = "no test files"
		case bd.err != nil:
			r.Status, r.Output = "build failed", bd.log+bd.err.Error()+"\n"
		default:
			r = runTest(ctx, opts, p.ImportPath, bd.img)
			os.Remove(bd.img)
		}
		report(opts, r)
		results = append(results, r)
		if ctx.Err() != nil {
			break
		}
	}
	return results, nil
}

// runTest boots one test unikernel.
func runTest(ctx context.Context, opts Options, pkg, img string) Result {
	r := Result{ImportPath: pkg, Status: "FAIL"}
	args := []string{"-test.paniconexit0", testTimeout}
	if opts.Verbose {
		args = append(args, "-test.v=true")
	}
	args = append(args, testFlags(opts.TestFlags)...)
	var console bytes.Buffer
	start := time.Now()
	vm, err := monitor.New(monitor.Config{Kernel: img, Memory: opts.Memory, Args: args, Console: &console})
	if err != nil {
		r.Output = err.Error() + "\n"
		return r
	}
	defer vm.Close()
	status, err := vm.Run(ctx)
	r.Elapsed = time.Since(start)
	r.Output = console.String()
	switch {
	case err != nil:
		r.Output += fmt.Sprintf("unimon: %v\n", err)
	case status == 0:
		r.Status = "ok"
	default:
		r.Output += fmt.Sprintf("exit status %d\n", status)
	}
	return r
}

// testFlags gives go test's short flags their -test. prefix.
func testFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.HasPrefix(f, "-") && !strings.HasPrefix(f, "-test.") && !strings.HasPrefix(f, "--test.") {
			f = "-test." + strings.TrimLeft(f, "-")
		}
		out = append(out, f)
	}
	return out
}

// report prints r as go test does.
func report(opts Options, r Result) {
	w := opts.Stdout
	switch r.Status {
	case "no test files":
		fmt.Fprintf(w, "?   \t%s\t[no test files]\n", r.ImportPath)
	case "build failed":
		fmt.Fprintf(opts.Stderr, "# %s\n%s", r.ImportPath, r.Output)
		fmt.Fprintf(w, "FAIL\t%s [build failed]\n", r.ImportPath)
	case "ok":
		if opts.Verbose {
			io.WriteString(w, r.Output)
		}
		fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", r.ImportPath, r.Elapsed.Seconds())
	default:
		io.WriteString(w, r.Output)
		fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", r.ImportPath, r.Elapsed.Seconds())
	}
}

// ErrUsage is returned by ParseArgs for a bad command line.
var ErrUsage = errors.New("usage: unimon test [--mem=MiB] [-v] [build flags] [test flags] [PACKAGES] [-- TEST FLAGS]")

// buildValueFlags are the go command's build flags that take a value
// (when not written -flag=value).
var buildValueFlags = map[string]bool{
	"tags": true, "gcflags": true, "ldflags": true, "asmflags": true, "mod": true, "modfile": true,
	"overlay": true, "pgo": true, "p": true, "toolexec": true,
}

// testFlagsWithValue and testBoolFlags are go test's test flags, which
// may also come before the packages (as in go test -short ./...).
var (
	testFlagsWithValue = map[string]bool{
		"run": true, "skip": true, "count": true, "timeout": true, "bench": true, "benchtime": true,
		"cpu": true, "parallel": true, "shuffle": true, "list": true,
	}
	testBoolFlags = map[string]bool{"short": true, "failfast": true, "benchmem": true, "fullpath": true}
)

// ParseArgs parses `unimon test`'s arguments.
func ParseArgs(args []string) (Options, error) {
	var o Options
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		name, val, hasVal := strings.Cut(name, "=")
		switch {
		case a == "--":
			o.TestFlags = append(o.TestFlags, args[i+1:]...)
			return o, nil
		case !strings.HasPrefix(a, "-"):
			o.Packages = append(o.Packages, a)
		case name == "mem":
			if !hasVal {
				if i+1 == len(args) {
					return o, fmt.Errorf("%w: --mem needs a value in MiB", ErrUsage)
				}
				i++
				val = args[i]
			}
			mib, err := strconv.ParseUint(val, 10, 32)
			if err != nil || mib < 2 || mib > 4096 || mib%2 != 0 {
				return o, fmt.Errorf("%w: --mem=%s: want an even number of MiB from 2 to 4096", ErrUsage, val)
			}
			o.Memory = mib << 20
		case name == "v":
			o.Verbose = true
		case name == "h" || name == "help":
			return o, ErrUsage
		case name == "race" || name == "msan" || name == "asan" || name == "cover":
			return o, fmt.Errorf("%w: -%s is not supported in a unikernel (no cgo, no coverage files)", ErrUsage, name)
		case testBoolFlags[name]:
			o.TestFlags = append(o.TestFlags, a)
		case testFlagsWithValue[name]:
			o.TestFlags = append(o.TestFlags, a)
			if !hasVal {
				if i+1 == len(args) {
					return o, fmt.Errorf("%w: %s needs a value", ErrUsage, a)
				}
				i++
				o.TestFlags = append(o.TestFlags, args[i])
			}
		default:
			o.BuildFlags = append(o.BuildFlags, a)
			if buildValueFlags[name] && !hasVal {
				if i+1 == len(args) {
					return o, fmt.Errorf("%w: %s needs a value", ErrUsage, a)
				}
				i++
				o.BuildFlags = append(o.BuildFlags, args[i])
			}
		}
	}
	return o, nil
}

// Main is `unimon test ARGS`; it returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	opts, err := ParseArgs(args)
	if errors.Is(err, ErrUsage) && err == ErrUsage {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "Builds each package's tests as a Go unikernel and runs them under unimon, as go test does.")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "unimon test: %v\n", err)
		return 2
	}
	opts.Stdout, opts.Stderr = stdout, stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "unimon test: %v\n", err)
		return 1
	}
	for _, r := range results {
		if !r.Passed() {
			fmt.Fprintln(stdout, "FAIL")
			return 1
		}
	}
	return 0
}
