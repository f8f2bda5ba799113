package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
)

// A companion is a binary this one hands a command to, exec'ing it in
// its place: found next to this executable (make puts them all in bin/),
// else on PATH, else, for a unimon installed as a module version, run
// with `go run` of the same version.
type companion struct {
	name string // the binary's file name
	pkg  string // the package `go run` builds it from
	hint string // how to get it, for missingCompanionError
}

// builder is what `unimon build`, `test`, `pack` and `info` run
// (cmd/unimon-build): the builder lives in its own binary so that this
// one, which runs unikernels, stays small and starts fast.
var builder = companion{
	name: "unimon-build",
	pkg:  "github.com/unimon/unimon/cmd/unimon-build",
	hint: "Install it with go install github.com/unimon/unimon/cmd/unimon-build@latest, or run make, which builds bin/unimon-build.",
}

// debugTender is what the lean build (debug_lean.go) hands a run with a
// debug option to: this command built with the debug modules.
var debugTender = companion{
	name: "unimon-debug",
	pkg:  "github.com/unimon/unimon/cmd/unimon",
	hint: "Run make, which builds bin/unimon-debug next to bin/unimon, or use a unimon built without the tag unimon_nodebug (go install github.com/unimon/unimon/cmd/unimon@latest), which serves the debug options itself.",
}

// builderFlags are the commands the builder runs, each with the flag
// that comes first on its command line to select it: build is the
// builder's own (""); test (internal/gotest) builds test binaries and
// runs them; pack (internal/ocipack) writes an OCI image; info
// (internal/kernelinfo) describes a unikernel as JSON. All of them live
// in the builder so that this binary links none of their packages.
var builderFlags = map[string]string{"build": "", "test": "--test", "pack": "--pack", "info": "--info"}

// runBuilder is `unimon command` (build, test, pack or info: builderFlags)
// with args, what follows the command's name. It returns only on
// failure.
func runBuilder(command string, args []string, stderr io.Writer) int {
	if flag := builderFlags[command]; flag != "" {
		args = append([]string{flag}, args...)
	}
	return builder.exec("unimon "+command, args, stderr)
}

// exec replaces this process with c running args, for what (the command
// or option that needs c, for the error). It returns only on failure.
func (c companion) exec(what string, args []string, stderr io.Writer) int {
	argv, err := c.command(what, args)
	if err == nil {
		err = syscall.Exec(argv[0], argv, os.Environ())
	}
	return fail(stderr, err)
}

// command returns the argv that runs c with args.
func (c companion) command(what string, args []string) ([]string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	dirs = append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
	if p := findExecutable(c.name, dirs); p != "" {
		return append([]string{p}, args...), nil
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		if goCmd := findExecutable("go", filepath.SplitList(os.Getenv("PATH"))); goCmd != "" {
			return append([]string{goCmd, "run", c.pkg + "@" + bi.Main.Version}, args...), nil
		}
	}
	return nil, &missingCompanionError{what, c}
}

// missingCompanionError: a companion binary, which What needs, is
// nowhere to be found (its hint says how to get it).
type missingCompanionError struct {
	What      string
	companion companion
}

func (e *missingCompanionError) Error() string {
	return e.What + " needs " + e.companion.name + ", which is neither next to this executable nor on PATH"
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
