package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
)

// builderName is the command `unimon build` and `unimon test` run
// (cmd/unimon-build): the builder lives in its own binary so that this
// one, which runs unikernels, stays small and starts fast.
const builderName = "unimon-build"

// builderPackage is where `go run` finds the builder when it is not
// installed.
const builderPackage = "github.com/unimon/unimon/cmd/unimon-build"

// builderFlags are the commands the builder runs, each with the flag
// that comes first on its command line to select it: build is the
// builder's own (""); test (internal/gotest) builds test binaries and
// runs them; pack (internal/ocipack) writes an OCI image; info
// (internal/kernelinfo) describes a unikernel as JSON. All of them live
// in the builder so that this binary links none of their packages.
var builderFlags = map[string]string{"build": "", "test": "--test", "pack": "--pack", "info": "--info"}

// runBuilder is `unimon command` (build, test, pack or info: builderFlags)
// with args, what follows the command's name: it replaces this process
// with the builder found next to this executable (make puts both in
// bin/), else on PATH, else, for a unimon installed as a module version,
// with `go run` of the builder of that same version (building needs the
// go command anyway). It returns only on failure.
func runBuilder(command string, args []string, stderr io.Writer) int {
	if flag := builderFlags[command]; flag != "" {
		args = append([]string{flag}, args...)
	}
	argv, err := builderCommand(command, args)
	if err == nil {
		err = syscall.Exec(argv[0], argv, os.Environ())
	}
	return fail(stderr, err)
}

// builderCommand returns the argv that runs the builder with args for
// `unimon command`.
func builderCommand(command string, args []string) ([]string, error) {
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
	return nil, &noBuilderError{command}
}

// noBuilderError: the builder binary, which `unimon Command` needs, is
// nowhere to be found (hints.go says how to install it).
type noBuilderError struct{ Command string }

func (e *noBuilderError) Error() string {
	return "unimon " + e.Command + " needs " + builderName + ", which is neither next to this executable nor on PATH"
}

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
