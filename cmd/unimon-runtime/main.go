// Command unimon-runtime is an OCI runtime with runc's command line for
// the subset containerd's runc shim, Docker and podman (conmon) use. A
// container whose process.args[0] is a Solo5 unikernel runs on unimon,
// in the container's own holder process; any other container is handed
// to runc with the same arguments (its state under ROOT/runc), so pods
// can mix both.
//
//	unimon-runtime [--root DIR] [--log FILE] [--log-format json|text] [--systemd-cgroup] COMMAND
//	  create --bundle DIR --pid-file FILE [--console-socket SOCK] [--no-pivot] [--no-new-keyring] ID
//	  start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID
//	  ps --format json ID | features | --version
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/ocirt"
)

// version is set at link time by the Makefile.
var version = "dev"

// defaultRoot is runc's /run/runc for this runtime.
const defaultRoot = "/run/unimon-runtime"

const usageText = `usage: unimon-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ID]

An OCI runtime for unikernels (runc's command line). Containers whose
process.args[0] is a Solo5 unikernel run on unimon; others go to runc.

Global options: --root DIR, --log FILE, --log-format json|text,
  --systemd-cgroup, --debug, --version
Commands:
  create --bundle DIR [--pid-file FILE] [--console-socket SOCK] [--no-pivot] [--no-new-keyring] ID
  start ID
  state ID
  kill [--all] ID [SIGNAL]
  delete [--force] ID
  ps [--format json|table] ID
  features
`

// flagSpec says which flags a command knows and which of them take a value.
type flagSpec map[string]bool // name -> takes a value

var (
	globalFlags = flagSpec{"root": true, "log": true, "log-format": true, "criu": true, "rootless": true,
		"systemd-cgroup": false, "debug": false, "version": false, "v": false, "help": false, "h": false}
	commandFlags = map[string]flagSpec{
		"create": {"bundle": true, "b": true, "pid-file": true, "console-socket": true, "preserve-fds": true,
			"pidfd-socket": true, "no-pivot": false, "no-new-keyring": false, "detach": false, "d": false},
		"start":    {},
		"state":    {},
		"kill":     {"all": false, "a": false},
		"delete":   {"force": false, "f": false},
		"ps":       {"format": true, "f": true},
		"features": {},
	}
)

// runcOnly are runc's commands the runtime passes through for runc's
// containers but does not implement for unikernels.
var runcOnly = []string{"exec", "pause", "resume", "update", "checkpoint", "restore", "events", "run", "list", "spec"}

// parsed is a command line split runc's way (urfave/cli: flags, then
// positional arguments).
type parsed struct {
	flags map[string]string
	args  []string
}

// parseFlags reads flags (-x, --x, --x=v, --x v) until the first
// positional argument or "--".
func parseFlags(spec flagSpec, argv []string) (parsed, []string, error) {
	p := parsed{flags: map[string]string{}}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takes, ok := spec[name]
		if !ok {
			return p, nil, fmt.Errorf("flag provided but not defined: -%s", name)
		}
		if takes && !hasValue {
			if i+1 >= len(argv) {
				return p, nil, fmt.Errorf("flag needs an argument: -%s", name)
			}
			i++
			value = argv[i]
		}
		if !takes && !hasValue {
			value = "true"
		}
		p.flags[name] = value
	}
	return p, argv[i:], nil
}

// flag returns the first set value among names.
func (p parsed) flag(names ...string) string {
	for _, n := range names {
		if v, ok := p.flags[n]; ok {
			return v
		}
	}
	return ""
}

func (p parsed) bool(names ...string) bool {
	v, _ := strconv.ParseBool(p.flag(names...))
	return v
}

// cli carries the global options of one invocation.
type cli struct {
	rt        *ocirt.Runtime
	logFile   string
	logJSON   bool
	stdout    io.Writer
	stderr    io.Writer
	runcRoot  string
	globalRaw []string // global options as given, less --root
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == ocirt.HolderCommand {
		if len(os.Args) != 5 {
			fmt.Fprintln(os.Stderr, "unimon-runtime: internal command used wrongly")
			os.Exit(1)
		}
		os.Exit(ocirt.Holder(os.Args[2], os.Args[3], os.Args[4]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	g, rest, err := parseFlags(globalFlags, argv)
	if err != nil {
		return c.usage(err)
	}
	c.logFile = g.flag("log")
	c.logJSON = g.flag("log-format") == "json"
	if f := g.flag("log-format"); f != "" && f != "json" && f != "text" {
		return c.usage(fmt.Errorf("--log-format %q: want json or text", f))
	}
	root := g.flag("root")
	if root == "" {
		root = defaultRoot
	}
	if root, err = filepath.Abs(root); err != nil {
		return c.fail(err)
	}
	c.rt = &ocirt.Runtime{Root: root}
	c.runcRoot = filepath.Join(root, "runc")
	c.globalRaw = stripRoot(argv[:len(argv)-len(rest)])

	switch {
	case g.bool("version", "v"):
		fmt.Fprintf(stdout, "unimon-runtime version %s\ncommit: %s\nspec: %s\n", version, version, specs.Version)
		return 0
	case g.bool("help", "h"):
		fmt.Fprint(stdout, usageText)
		return 0
	case len(rest) == 0:
		return c.usage(errors.New("missing COMMAND"))
	}
	cmd, cargs := rest[0], rest[1:]
	spec, known := commandFlags[cmd]
	if !known {
		// exec, pause, update...: runc's business for its containers.
		if c.runcContainerIn(cargs) != "" {
			return c.runc(cmd, cargs)
		}
		if slices.Contains(runcOnly, cmd) {
			return c.usage(fmt.Errorf("command %q is not supported for unikernel containers", cmd))
		}
		return c.usage(fmt.Errorf("unknown command %q", cmd))
	}
	p, pos, err := parseFlags(spec, cargs)
	if err != nil {
		return c.usage(fmt.Errorf("%s: %w", cmd, err))
	}
	if cmd == "features" {
		out, _ := json.MarshalIndent(ocirt.Features(version), "", "    ")
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	}
	if len(pos) == 0 {
		return c.usage(fmt.Errorf("%s: missing container ID", cmd))
	}
	id := pos[0]
	if cmd != "create" && !c.rt.Exists(id) && c.isRuncContainer(id) {
		return c.runc(cmd, cargs)
	}
	switch cmd {
	case "create":
		return c.create(p, id, cargs)
	case "start":
		return c.done(c.rt.Start(id))
	case "state":
		st, err := c.rt.State(id)
		if err != nil {
			return c.fail(err)
		}
		out, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	case "kill":
		sig := unix.SIGTERM
		if len(pos) > 1 {
			if sig, err = parseSignal(pos[1]); err != nil {
				return c.usage(err)
			}
		}
		return c.done(c.rt.Kill(id, sig))
	case "delete":
		err := c.rt.Delete(id, p.bool("force", "f"))
		if errors.Is(err, ocirt.ErrNotExist) && p.bool("force", "f") {
			return 0 // runc: delete --force of a missing container succeeds
		}
		return c.done(err)
	case "ps":
		pids, err := c.rt.Pids(id)
		if err != nil {
			return c.fail(err)
		}
		if f := p.flag("format", "f"); f == "json" {
			out, _ := json.Marshal(pids)
			fmt.Fprintf(stdout, "%s\n", out)
		} else {
			fmt.Fprintln(stdout, "PID")
			for _, pid := range pids {
				fmt.Fprintln(stdout, pid)
			}
		}
		return 0
	}
	return c.usage(fmt.Errorf("command %q", cmd))
}

func (c *cli) create(p parsed, id string, cargs []string) int {
	bundleDir := p.flag("bundle", "b")
	if bundleDir == "" {
		bundleDir = "."
	}
	if c.rt.Exists(id) || c.isRuncContainer(id) {
		return c.fail(fmt.Errorf("%w: %s", ocirt.ErrExist, id))
	}
	uni, err := ocirt.IsUnikernel(bundleDir)
	if err != nil {
		return c.fail(err)
	}
	if !uni {
		return c.runc("create", cargs)
	}
	return c.done(c.rt.Create(ocirt.CreateOptions{
		ID: id, Bundle: bundleDir, PidFile: p.flag("pid-file"), ConsoleSocket: p.flag("console-socket"),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}))
}

// stripRoot drops --root and its value from the global options.
func stripRoot(g []string) []string {
	var out []string
	for i := 0; i < len(g); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(g[i], "-"), "=")
		if name == "root" {
			if !hasValue {
				i++
			}
			continue
		}
		out = append(out, g[i])
	}
	return out
}

// isRuncContainer reports whether runc holds a container id under our root.
func (c *cli) isRuncContainer(id string) bool {
	if id == "" || strings.ContainsAny(id, "/") || id == "." || id == ".." {
		return false
	}
	_, err := os.Stat(filepath.Join(c.runcRoot, id))
	return err == nil
}

// runcContainerIn finds an argument naming a runc container.
func (c *cli) runcContainerIn(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && c.isRuncContainer(a) {
			return a
		}
	}
	return ""
}

// runc replaces this process with runc, given the same arguments but
// its own root under ours.
func (c *cli) runc(cmd string, cargs []string) int {
	bin, err := runcBinary()
	if err != nil {
		return c.fail(err)
	}
	argv := append([]string{"runc", "--root", c.runcRoot}, c.globalRaw...)
	argv = append(argv, cmd)
	argv = append(argv, cargs...)
	if err := os.MkdirAll(c.runcRoot, 0o711); err != nil {
		return c.fail(err)
	}
	return c.fail(fmt.Errorf("exec %s: %w", bin, syscall.Exec(bin, argv, os.Environ())))
}

// runcBinary is $UNIMON_RUNC, else the first runc on PATH that is not
// this executable (a caller may have installed us under runc's name).
func runcBinary() (string, error) {
	if p := os.Getenv("UNIMON_RUNC"); p != "" {
		return p, nil
	}
	self, _ := os.Executable()
	selfInfo, _ := os.Stat(self)
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, "runc")
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 || (selfInfo != nil && os.SameFile(fi, selfInfo)) {
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("runc: %w (it runs the containers that are not unikernels; set UNIMON_RUNC)", exec.ErrNotFound)
}

// parseSignal accepts 9, KILL and SIGKILL, as runc does.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func (c *cli) done(err error) int {
	if err != nil {
		return c.fail(err)
	}
	return 0
}

// fail reports err on stderr and in the --log file, as runc does: the
// containerd shim reads the last error from the log, podman from stderr.
func (c *cli) fail(err error) int {
	fmt.Fprintln(c.stderr, err)
	if c.logFile != "" {
		if f, ferr := os.OpenFile(c.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); ferr == nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			if c.logJSON {
				line, _ := json.Marshal(map[string]string{"level": "error", "msg": err.Error(), "time": now})
				fmt.Fprintf(f, "%s\n", line)
			} else {
				fmt.Fprintf(f, "time=%q level=error msg=%q\n", now, err.Error())
			}
			f.Close()
		}
	}
	return 1
}

// usage reports a command-line mistake as one line plus a hint.
func (c *cli) usage(err error) int {
	c.fail(err)
	fmt.Fprintln(c.stderr, "Try 'unimon-runtime --help' for the commands.")
	return 1
}
