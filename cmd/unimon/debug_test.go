//go:build !unimon_nodebug

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
)

func TestParseDebugOptions(t *testing.T) {
	tests := []struct {
		args []string
		err  string
		want debugOptions
	}{
		{args: []string{"--gdb", "k"}, want: debugOptions{gdb: true}},
		{args: []string{"--gdb", "--gdb-port=4321", "k"}, want: debugOptions{gdb: true, gdbAddr: "127.0.0.1:4321"}},
		{args: []string{"--gdb", "--gdb-port=0.0.0.0:99", "k"}, want: debugOptions{gdb: true, gdbAddr: "0.0.0.0:99"}},
		{args: []string{"--gdb", "--gdb-port=[::1]:99", "k"}, want: debugOptions{gdb: true, gdbAddr: "[::1]:99"}},
		{args: []string{"--dumpcore=/tmp", "k"}, want: debugOptions{dumpCore: "/tmp"}},
		{args: []string{"--gdb=1", "k"}, err: "--gdb takes no value"},
		{args: []string{"--gdb-port=0", "k"}, err: "malformed argument to --gdb-port"},
		{args: []string{"--gdb-port=70000", "k"}, err: "malformed argument to --gdb-port"},
		{args: []string{"--gdb-port=host:", "k"}, err: "malformed argument to --gdb-port"},
		{args: []string{"--gdb", "--gdb-port=localhost:99", "k"}, want: debugOptions{gdb: true, gdbAddr: "127.0.0.1:99"}},
		{args: []string{"--gdb", "--gdb-port=example.com:99", "k"}, err: `--gdb-port=example.com:99: "example.com" is not an IP address (HOST is one, or localhost)`},
		{args: []string{"--dumpcore", "k"}, err: "--dumpcore: missing value after '=' (write --dumpcore=VALUE"},
		{args: []string{"--dumpcore=", "k"}, err: "--dumpcore=: missing value after '='"},
		{args: []string{"--gdb", "--gdb-port", "1234", "k"}, err: "--gdb-port 1234: options take their value after '='"},
		{args: []string{"--dumpcore:x=y", "k"}, err: "unknown option"},
	}
	for _, tt := range tests {
		o, err := parseRunArgs(tt.args)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || o.debug != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.args, o.debug, err, tt.want)
		}
	}
}

// TestDebugOptionsRefused: options that cannot work are one line and a
// hint, before any guest runs.
func TestDebugOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	kernel := writeGuest(t, guests.Hello())
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--dumpcore=" + filepath.Join(dir, "missing"), kernel}, "--dumpcore="},
		{[]string{"--dumpcore=" + file, kernel}, "is not a directory"},
		{[]string{"--gdb-port=1234", kernel}, "--gdb-port needs --gdb"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != 1 {
			t.Errorf("%q: exit %d, want 1", tt.args, code)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if !strings.Contains(lines[0], tt.want) || len(lines) != 2 || !strings.Contains(lines[1], "--help") {
			t.Errorf("%q: stderr %q, want one line with %q and a hint", tt.args, stderr.String(), tt.want)
		}
	}
}

// TestCLIDumpCore: --dumpcore=DIR leaves a core of an aborting guest in
// DIR and says where.
func TestCLIDumpCore(t *testing.T) {
	kvmtest.Require(t)
	dir := t.TempDir()
	status, _, errOut := runCLI("--mem=8", "--dumpcore="+dir, writeGuest(t, guests.Exit(255)))
	cores, _ := filepath.Glob(filepath.Join(dir, "core.unimon.*"))
	if status != 255 || len(cores) != 1 || !strings.Contains(errOut, "dumpcore: guest core written to "+cores[0]) {
		t.Fatalf("status %d, cores %q, stderr %q", status, cores, errOut)
	}
}
