package gobuild

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// trimGOROOTs removes the GOROOTs unused for five days and the half-made
// ones abandoned for a day, keeps the one in use and everything that is
// not its own, and never follows a GOROOT's links into the real GOROOT.
func TestTrimGOROOTs(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cache := t.TempDir()
	real := t.TempDir() // what a GOROOT's links point to
	if err := os.WriteFile(filepath.Join(real, "VERSION"), []byte("go1.26"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		age  time.Duration
		kept bool
	}{
		{"goroot-fresh", time.Hour, true},
		{"goroot-four-days", 4 * 24 * time.Hour, true},
		{"goroot-six-days", 6 * 24 * time.Hour, false},
		{"goroot-in-use", 30 * 24 * time.Hour, true}, // keep: this run's
		{"new-12345", 2 * time.Hour, true},           // another run making one
		{"new-67890", 2 * 24 * time.Hour, false},
		{"unrelated", 90 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		dir := filepath.Join(cache, tt.name)
		if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(real, "VERSION"), filepath.Join(dir, "VERSION")); err != nil {
			t.Fatal(err)
		}
		at := now.Add(-tt.age)
		if err := os.Chtimes(dir, at, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := trimGOROOTs(cache, filepath.Join(cache, "goroot-in-use"), now); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		_, err := os.Stat(filepath.Join(cache, tt.name))
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s (unused for %v): kept %v, want %v", tt.name, tt.age, kept, tt.kept)
		}
	}
	if _, err := os.Stat(filepath.Join(real, "VERSION")); err != nil {
		t.Errorf("the real GOROOT lost a file: %v", err)
	}
}

// A use is written down as the GOROOT's modification time, at most once
// an hour, so a GOROOT in use every day is never trimmed.
func TestMarkGOROOTUsed(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(dir, base, base); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at   time.Duration // after base
		want time.Duration // the modification time after the mark
	}{
		{10 * time.Minute, 0}, // within the hour: not written
		{2 * time.Hour, 2 * time.Hour},
		{2*time.Hour + 30*time.Minute, 2 * time.Hour},
		{6 * 24 * time.Hour, 6 * 24 * time.Hour},
	} {
		if err := markGOROOTUsed(dir, base.Add(tt.at)); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := base.Add(tt.want); !st.ModTime().Equal(want) {
			t.Errorf("marked at +%v: modified %v, want %v", tt.at, st.ModTime(), want)
		}
	}
}
