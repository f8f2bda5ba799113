// Package guestbuild builds a Go unikernel once per test binary, for the
// end-to-end tests that boot it many times.
package guestbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/unimon/unimon/internal/gobuild"
)

// Once builds Options with unimon build (gobuild.Build) the first time
// Path is called and remembers the result. Options.Output is ignored:
// the unikernel goes where Path says.
type Once struct {
	Options gobuild.Options

	once sync.Once
	path string
	err  error
}

// Path returns the unikernel, built as dir/name by the first call, and
// fails t (with go build's output) when the build failed.
func (o *Once) Path(t testing.TB, dir, name string) string {
	t.Helper()
	o.once.Do(func() {
		o.path = filepath.Join(dir, name)
		opts := o.Options
		opts.Output = o.path
		var log bytes.Buffer
		opts.Stderr = &log
		if _, err := gobuild.Build(context.Background(), opts); err != nil {
			o.err = fmt.Errorf("%w\n%s", err, log.String())
		}
	})
	if o.err != nil {
		t.Fatalf("unimon build: %v", o.err)
	}
	return o.path
}

// MainWithTempDir is a TestMain for the test binaries that build
// unikernels: it runs m's tests with *dir set to a new temporary directory
// (named after prefix), removes it afterwards, and exits with the tests'
// status.
func MainWithTempDir(m *testing.M, prefix string, dir *string) {
	var err error
	if *dir, err = os.MkdirTemp("", prefix); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(*dir)
	os.Exit(code)
}
