package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
)

// builderName is the command `unimon build` runs (cmd/unimon-build): the
// builder lives in its own binary so that this one, which runs
// unikernels, stays small and starts fast.
const builderName = "unimon-build"

// builderPackage is where `go run` finds the builder when it is not
// installed.
const builderPackage = "github.com/unimon/unimon/cmd/unimon-build"

// runBuild is `unimon build`: it replaces this process with the builder
// found next to this executable (make puts both in bin/), else on PATH,
// else, for a unimon installed as a module version, with `go run` of the
// builder of that same version (unimon build needs the go command anyway).
// It returns only on failure.
func runBuild(args []string, stdout, stderr io.Writer) int {
	argv, err := builderCommand(args)
	if err == nil {
		err = syscall.Exec(argv[0], argv, os.Environ())
	}
	return fail(stderr, err)
}

// builderCommand returns the argv that runs the builder with args.
func builderCommand(args []string) ([]string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	dirs = append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
	if p := findExecutable(builderName, dirs); p != "" {
		return append([]string{p}, args...), nil
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		if goCmd := findExecutable("go", filepath.SplitList(os.Getenv("PATH"))); goCmd != "" {
			return append([]string{goCmd, "run", builderPackage + "@" + bi.Main.Version}, args...), nil
		}
	}
	return nil, errNoBuilder
}

// errNoBuilder: the builder binary is nowhere to be found (hints.go says
// how to install it).
var errNoBuilder = errors.New("unimon build needs " + builderName + ", which is neither next to this executable nor on PATH")

// findExecutable returns the first regular, executable file name in dirs.
func findExecutable(name string, dirs []string) string {
	for _, d := range dirs {
		if d == "" {
			d = "." // an empty PATH element means the current directory
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
			return p
		}
	}
	return ""
}
