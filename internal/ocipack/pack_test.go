package ocipack

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/microguest"
)

func TestPack(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "Hello.hvt")
	if err := os.WriteFile(kernel, microguest.Host.Hello(), 0o644); err != nil {
		t.Fatal(err)
	}
	notELF := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notELF, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	plainELF, err := os.Executable() // this test binary: an ELF, not a Solo5 unikernel
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		status int
		out    string // stdout (status 0) or stderr substring
		file   string
	}{
		{"defaults", []string{kernel, "--", "a", "b"}, 0, "docker.io/library/hello:latest", "Hello.tar"},
		{"named", []string{"-o", "x.tar", "--name", "me/hi:v2", "--mem", "64", "--annotation", "org.unimon.net.args=go", kernel}, 0, "docker.io/me/hi:v2", "x.tar"},
		{"no-kernel", nil, 1, "missing KERNEL", ""},
		{"not-elf", []string{notELF}, 1, "notes.txt", ""},
		{"plain-elf", []string{plainELF}, 1, "Use unimon build", ""},
		{"bad-mem", []string{"--mem", "3", kernel}, 1, "--mem 3", ""},
		{"bad-annotation", []string{"--annotation", "novalue", kernel}, 1, "want KEY=VALUE", ""},
		{"bad-name", []string{"--name", "UP", kernel}, 1, "lower case", ""},
		{"bad-setting", []string{"--annotation", "org.unimon.net.args=bsd", kernel}, 1, "want go, mirage or none", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wd := t.TempDir()
			t.Chdir(wd)
			var stdout, stderr bytes.Buffer
			status := Main(tc.args, &stdout, &stderr)
			if status != tc.status {
				t.Fatalf("status %d, want %d; stderr %s", status, tc.status, stderr.String())
			}
			if tc.status != 0 {
				if !strings.Contains(stderr.String(), tc.out) || strings.Count(stderr.String(), "\n") > 2 {
					t.Errorf("stderr %q, want a line with %q", stderr.String(), tc.out)
				}
				if entries, _ := os.ReadDir(wd); len(entries) != 0 {
					t.Errorf("left %v", entries)
				}
				return
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.out)
			}
			f, err := os.Open(filepath.Join(wd, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr := tar.NewReader(f)
			var names []string
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
			}
			if !strings.Contains(strings.Join(names, " "), "index.json") {
				t.Errorf("tar holds %v", names)
			}
		})
	}
}

// A unikernel of the other architecture packs too, into an image of its
// platform: built locally, deployed where it runs.
func TestPackOtherArch(t *testing.T) {
	image, arch := microguest.A64Hello(), "arm64"
	if microguest.Host.Arch == "arm64" {
		image, arch = microguest.Hello(), "amd64"
	}
	kernel := filepath.Join(t.TempDir(), "other.hvt")
	if err := os.WriteFile(kernel, image, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "other.tar")
	var stdout, stderr bytes.Buffer
	if status := Main([]string{"-o", out, kernel}, &stdout, &stderr); status != 0 {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("no image config says %q", arch)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if bytes.Contains(b, []byte(`"architecture":"`+arch+`"`)) {
			return
		}
	}
}
