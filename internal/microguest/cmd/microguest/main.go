// Command microguest writes one of the microguest catalogue's guests as a
// Solo5 hvt ELF file:
//
//	microguest NAME -o FILE [-arch amd64|arm64] [-status N] [-n N] [-timeout NS]
//	microguest -list
//
// `make run` uses `microguest hello -o bin/hello.hvt`. Options may come
// before or after NAME.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/unimon/unimon/internal/microguest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "microguest:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("microguest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the guest to `FILE`")
	list := fs.Bool("list", false, "list the guest names and exit")
	status := fs.Int("status", 0, "exit status for the exit guest")
	n := fs.Uint("n", 1000, "iterations for the *-loop guests")
	timeout := fs.Uint64("timeout", 1_000_000, "POLL timeout in `ns` for the poll guest")
	arch := fs.String("arch", runtime.GOARCH, "guest architecture: amd64 or arm64")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: microguest NAME -o FILE [options]\n       microguest -list\noptions:")
		fs.PrintDefaults()
	}

	// The flag package stops at the first non-flag argument, and NAME
	// comes first in `microguest hello -o FILE`: parse again after it.
	if err := fs.Parse(args); err != nil {
		return err
	}
	var name string
	if fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	cat, ok := microguest.ForArch(*arch)
	if !ok {
		return fmt.Errorf("-arch %q: want amd64 or arm64", *arch)
	}
	if *list {
		_, err := fmt.Fprintln(stdout, strings.Join(cat.Names(), "\n"))
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q after %q", fs.Args(), name)
	}
	if name == "" || *out == "" {
		fs.Usage()
		return errors.New("need a guest NAME and -o FILE")
	}
	if *status < -1<<31 || *status > 1<<31-1 {
		return fmt.Errorf("-status %d does not fit an int32", *status)
	}
	if *n > 1<<32-1 {
		return fmt.Errorf("-n %d does not fit a uint32", *n)
	}
	b, err := cat.Build(name, microguest.Params{Status: int32(*status), N: uint32(*n), Timeout: *timeout})
	if err != nil {
		return fmt.Errorf("%w (try -list)", err)
	}
	if dir := filepath.Dir(*out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// Not executable: the host kernel must not try to run a unikernel.
	return os.WriteFile(*out, b, 0o644)
}
