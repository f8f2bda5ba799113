package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// command runs name with args and returns its standard output; on failure
// the error carries standard error, which is where apt explains itself.
func command(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(lastLines(stderr.String(), 6)))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// aptEnv keeps apt from prompting, and the lock timeout lets two lanes (or
// a lane and an unattended upgrade) take turns instead of failing.
var aptEnv = []string{"DEBIAN_FRONTEND=noninteractive"}

func aptGet(ctx context.Context, dir string, args ...string) error {
	args = append([]string{"-q", "-y", "-o", "DPkg::Lock::Timeout=300"}, args...)
	_, err := command(ctx, dir, aptEnv, "apt-get", args...)
	return err
}

// aptRetry runs an apt-get command and, if it fails, refreshes the
// package lists once and tries again: stale lists name packages the
// mirror no longer has.
func aptRetry(ctx context.Context, dir string, args ...string) error {
	if err := aptGet(ctx, dir, args...); err == nil {
		return nil
	}
	fmt.Fprintln(os.Stderr, "arm64lane: apt-get update")
	if err := aptGet(ctx, "", "update"); err != nil {
		return fmt.Errorf("%w: %v", errCannotRun, err)
	}
	if err := aptGet(ctx, dir, args...); err != nil {
		return fmt.Errorf("%w: %v", errCannotRun, err)
	}
	return nil
}

func needApt() error {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found (the lane installs qemu and the arm64 kernel with apt)", errCannotRun, tool)
		}
	}
	return nil
}

// ensureQEMU returns the path of qemu-system-aarch64, installing Debian's
// qemu-system-arm package if needed. Recommends are skipped: the lane
// needs neither firmware ROMs (it runs with -nic none) nor a GUI.
func ensureQEMU(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("qemu-system-aarch64"); err == nil {
		return p, nil
	}
	if err := needApt(); err != nil {
		return "", err
	}
	fmt.Fprintln(os.Stderr, "arm64lane: installing qemu-system-arm")
	if err := aptRetry(ctx, "", "install", "--no-install-recommends", "qemu-system-arm"); err != nil {
		return "", err
	}
	p, err := exec.LookPath("qemu-system-aarch64")
	if err != nil {
		return "", fmt.Errorf("%w: qemu-system-arm installed but qemu-system-aarch64 not found: %v", errCannotRun, err)
	}
	return p, nil
}

// kernelPackageRE matches the versioned package that linux-image-arm64
// depends on, e.g. linux-image-6.1.0-28-arm64.
var kernelPackageRE = regexp.MustCompile(`Depends: (linux-image-[0-9][^ :]*-arm64)(:arm64)?\b`)

// currentKernelPackage asks apt which versioned arm64 kernel package the
// linux-image-arm64 metapackage currently points at. It works offline
// from the package lists, so a warm cache never touches the network.
func currentKernelPackage(ctx context.Context) (string, error) {
	out, err := command(ctx, "", aptEnv, "apt-cache", "depends", "linux-image-arm64:arm64")
	if err != nil {
		return "", err
	}
	m := kernelPackageRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no versioned kernel in `apt-cache depends linux-image-arm64:arm64`: %s", lastLines(string(out), 4))
	}
	return string(m[1]), nil
}

// ensureKernel returns the path of a cached arm64 kernel Image (KVM is
// built into Debian's arm64 kernel, so no modules are needed), fetching
// the current Debian package when the cache does not hold it.
func ensureKernel(ctx context.Context, cache string) (string, error) {
	if err := needApt(); err != nil {
		// Without apt a previously cached kernel is still good.
		if k := anyCachedKernel(cache); k != "" {
			return k, nil
		}
		return "", err
	}
	archs, err := command(ctx, "", nil, "dpkg", "--print-foreign-architectures")
	if err != nil {
		return "", fmt.Errorf("%w: %v", errCannotRun, err)
	}
	if !strings.Contains(" "+strings.Join(strings.Fields(string(archs)), " ")+" ", " arm64 ") {
		fmt.Fprintln(os.Stderr, "arm64lane: dpkg --add-architecture arm64; apt-get update")
		if _, err := command(ctx, "", nil, "dpkg", "--add-architecture", "arm64"); err != nil {
			return "", fmt.Errorf("%w: %v", errCannotRun, err)
		}
		if err := aptGet(ctx, "", "update"); err != nil {
			return "", fmt.Errorf("%w: %v", errCannotRun, err)
		}
	}
	pkg, err := currentKernelPackage(ctx)
	if err != nil {
		// Lists without arm64 entries (added by someone else, never
		// updated): refresh once.
		if uerr := aptGet(ctx, "", "update"); uerr != nil {
			return "", fmt.Errorf("%w: %v; %v", errCannotRun, err, uerr)
		}
		if pkg, err = currentKernelPackage(ctx); err != nil {
			return "", fmt.Errorf("%w: %v", errCannotRun, err)
		}
	}
	image := filepath.Join(cache, pkg, "Image")
	if _, err := os.Stat(image); err == nil {
		return image, nil
	}
	fmt.Fprintf(os.Stderr, "arm64lane: downloading %s:arm64\n", pkg)
	dl, err := os.MkdirTemp(cache, "download-")
	if err != nil {
		return "", fmt.Errorf("%w: %v", errCannotRun, err)
	}
	defer os.RemoveAll(dl)
	if err := aptRetry(ctx, dl, "download", pkg+":arm64"); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("%w: apt-get download %s left %d .deb files", errCannotRun, pkg, len(debs))
	}
	if err := extractKernel(ctx, debs[0], image); err != nil {
		return "", err
	}
	// Older kernels are dead weight (~30 MB each) once a newer one works.
	olds, _ := filepath.Glob(filepath.Join(cache, "linux-image-*"))
	for _, o := range olds {
		if filepath.Base(o) != pkg {
			os.RemoveAll(o)
		}
	}
	return image, nil
}

func anyCachedKernel(cache string) string {
	ks, _ := filepath.Glob(filepath.Join(cache, "linux-image-*", "Image"))
	if len(ks) == 0 {
		return ""
	}
	return ks[len(ks)-1]
}

// extractKernel copies boot/vmlinuz-* out of a kernel .deb into dst,
// atomically, so an interrupted lane never leaves a truncated kernel in
// the cache.
func extractKernel(ctx context.Context, deb, dst string) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: dpkg-deb: %v", errCannotRun, err)
	}
	found := false
	tr := tar.NewReader(out)
	var ferr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			ferr = fmt.Errorf("reading %s: %w", deb, err)
			break
		}
		if !strings.HasPrefix(strings.TrimPrefix(h.Name, "./"), "boot/vmlinuz-") || h.Typeflag != tar.TypeReg {
			continue
		}
		ferr = writeAtomic(dst, tr)
		found = ferr == nil
		break
	}
	io.Copy(io.Discard, out)
	werr := cmd.Wait()
	switch {
	case ferr != nil:
		return ferr
	case werr != nil:
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, werr, stderr.String())
	case !found:
		return fmt.Errorf("%s holds no boot/vmlinuz-*", deb)
	}
	return nil
}

func writeAtomic(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d.%d", dst, os.Getpid(), time.Now().UnixNano())
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}
