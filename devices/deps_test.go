package devices

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestDoesNotLinkNet keeps package net (and net/netip, which comes with
// it) out of devices' dependencies. devices is on the run path of every
// unimon command line, and linking net costs each run about 0.1 MiB of
// peak RSS (net's package initialisation and code are touched at every
// start), against issue 12's budget of 3.5 MB for a tiny C unikernel.
// That is why a guest's address is a MAC and a closed device's error
// wraps os.ErrClosed: not net.HardwareAddr and net.ErrClosed.
//
// Checked for each kind of build of the package: Linux (taps and pipes)
// and elsewhere (tap_other.go).
func TestDoesNotLinkNet(t *testing.T) {
	const pkg = "github.com/unimon/unimon/devices"
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, target := range []struct{ goos, goarch string }{
		{runtime.GOOS, runtime.GOARCH},
		{"linux", "arm64"},
		{"darwin", "amd64"},
	} {
		name := target.goos + "/" + target.goarch
		// Each package with its imports, so a failure can name who
		// brought net in.
		cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pkg)
		cmd.Env = append(os.Environ(), "GOOS="+target.goos, "GOARCH="+target.goarch, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s: go list -deps %s: %v\n%s", name, pkg, err, stderr)
		}
		deps := map[string]bool{}
		importers := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			deps[f[0]] = true
			for _, imp := range f[1:] {
				importers[imp] = append(importers[imp], f[0])
			}
		}
		if !deps[pkg] {
			t.Fatalf("%s: go list -deps %s does not list the package itself:\n%s", name, pkg, out)
		}
		for _, banned := range []string{"net", "net/netip"} {
			if deps[banned] {
				by := importers[banned]
				slices.Sort(by)
				t.Errorf("%s: package devices depends on %s (imported by %s): linking net costs every unimon run ~0.1 MiB of peak RSS (issue 12); use devices.MAC and os.ErrClosed, not net's types",
					name, banned, strings.Join(by, ", "))
			}
		}
	}
}
