package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The monitor does not link the builder: those packages cost every run
// its start-up time and memory (issue 12).
func TestRunPathDoesNotLinkBuilder(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range []string{"github.com/unimon/unimon/internal/gobuild", "golang.org/x/arch/x86/x86asm", "os/exec", "flag"} {
		for _, d := range deps {
			if d == pkg {
				t.Errorf("cmd/unimon links %s", pkg)
			}
		}
	}
}

// `unimon build` runs the builder next to the executable, else on PATH,
// and says how to install it when there is none.
func TestBuildRunsBuilder(t *testing.T) {
	dir := t.TempDir()
	unimon, builder := filepath.Join(dir, "unimon"), filepath.Join(dir, builderName)
	for bin, pkg := range map[string]string{unimon: ".", builder: "../unimon-build"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	alone := filepath.Join(t.TempDir(), "unimon")
	if err := os.Link(unimon, alone); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bin, path string
		status          int
		want            string
	}{
		{"next to unimon", unimon, "", 0, "usage: unimon build"},
		{"on PATH", alone, dir, 0, "usage: unimon build"},
		{"nowhere", alone, "", 1, "unimon: unimon build needs unimon-build, which is neither next to this executable nor on PATH\nInstall it with go install github.com/unimon/unimon/cmd/unimon-build@latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.bin, "build", "-h")
			cmd.Env = append(os.Environ(), "PATH="+tt.path)
			out, err := cmd.CombinedOutput()
			status := 0
			if ee, ok := err.(*exec.ExitError); ok {
				status = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tt.status || !strings.Contains(string(out), tt.want) {
				t.Errorf("unimon build -h: status %d, output:\n%s\nwant status %d and %q", status, out, tt.status, tt.want)
			}
		})
	}
}
