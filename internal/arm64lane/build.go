package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
	"github.com/unimon/unimon/tests/goguests"
)

// crossEnv builds static arm64 binaries: the initramfs has no libc.
var crossEnv = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := command(ctx, "", nil, "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the unimon module: run the lane from the repository")
	}
	return filepath.Dir(mod), nil
}

// arm64TestPackages lists the packages that have an *_arm64_test.go file:
// only those have tests written for arm64, and running every package's
// pure-Go tests again under emulation would cost minutes and prove little.
func arm64TestPackages(ctx context.Context, root string) ([]string, error) {
	out, err := command(ctx, root, crossEnv, "go", "list", "-e",
		"-f", "{{.ImportPath}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}", "./...")
	if err != nil {
		return nil, err
	}
	var pkgs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for _, file := range f[min(1, len(f)):] {
			if strings.HasSuffix(file, "_arm64_test.go") {
				pkgs = append(pkgs, f[0])
				break
			}
		}
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

// build cross-compiles /init, the unimon command and one test binary per
// package, in parallel; the go build cache makes a warm rebuild take
// seconds.
func build(ctx context.Context, root, work string, pkgs []string) (initBin, cli string, tests []string, err error) {
	testDir := filepath.Join(work, "tests")
	if err := os.MkdirAll(testDir, 0o755); err != nil {
		return "", "", nil, err
	}
	var testErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		// -o DIR/ writes PKGNAME.test per package.
		_, testErr = command(ctx, root, crossEnv, "go", append([]string{"test", "-c", "-o", testDir + "/"}, pkgs...)...)
	}()
	initBin, cli, err = buildInitAndCLI(ctx, root, work)
	<-done
	switch {
	case err != nil:
		return "", "", nil, err
	case testErr != nil:
		return "", "", nil, fmt.Errorf("cross-building arm64 tests: %w", testErr)
	}
	entries, err := os.ReadDir(testDir)
	if err != nil {
		return "", "", nil, err
	}
	for _, e := range entries {
		tests = append(tests, filepath.Join(testDir, e.Name()))
	}
	if len(tests) != len(pkgs) {
		return "", "", nil, fmt.Errorf("built %d test binaries for %d packages (%s)", len(tests), len(pkgs), strings.Join(pkgs, " "))
	}
	return initBin, cli, tests, nil
}

// buildInitAndCLI cross-compiles the lane's /init and the unimon command
// into work, in parallel.
func buildInitAndCLI(ctx context.Context, root, work string) (initBin, cli string, err error) {
	initBin, cli = filepath.Join(work, "init"), filepath.Join(work, "unimon")
	var wg sync.WaitGroup
	var initErr, cliErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, initErr = command(ctx, root, crossEnv, "go", "build", "-o", initBin, "./internal/arm64lane/init")
	}()
	go func() {
		defer wg.Done()
		_, cliErr = command(ctx, root, crossEnv, "go", "build", "-o", cli, "./cmd/unimon")
	}()
	wg.Wait()
	switch {
	case initErr != nil:
		return "", "", fmt.Errorf("building the lane's /init: %w", initErr)
	case cliErr != nil:
		return "", "", fmt.Errorf("cross-building cmd/unimon: %w", cliErr)
	}
	return initBin, cli, nil
}

// buildGoGuests builds the Go unikernels of tests/goguests for arm64
// (goguests.Images), one after the other as the test binaries build: the
// VM has no Go toolchain. It returns them as initramfs files under
// laneproto.GoGuestsDir.
func buildGoGuests(ctx context.Context, root, work string) (map[string]string, error) {
	dir := filepath.Join(work, "goguests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(goguests.Images)) {
		p, err := goguests.BuildImage(ctx, root, dir, name, "arm64")
		if err != nil {
			return nil, fmt.Errorf("building the arm64 Go guests: %w", err)
		}
		files[laneproto.GoGuestsDir+"/"+name] = p
	}
	return files, nil
}
