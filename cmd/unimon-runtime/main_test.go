package main

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		argv    []string
		flags   map[string]string
		rest    []string
		wantErr bool
	}{
		{[]string{"--root", "/r", "--log=/l", "--systemd-cgroup", "state", "x"},
			map[string]string{"root": "/r", "log": "/l", "systemd-cgroup": "true"}, []string{"state", "x"}, false},
		{[]string{"-root", "/r", "--", "state"}, map[string]string{"root": "/r"}, []string{"state"}, false},
		{[]string{"--root"}, nil, nil, true},
		{[]string{"--nope", "state"}, nil, nil, true},
	}
	for _, tc := range cases {
		p, rest, err := parseFlags(globalFlags, tc.argv)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tc.argv)
			}
			continue
		}
		if err != nil || !slices.Equal(rest, tc.rest) || len(p.flags) != len(tc.flags) {
			t.Errorf("%q: %v %q %v", tc.argv, p.flags, rest, err)
		}
		for k, v := range tc.flags {
			if p.flags[k] != v {
				t.Errorf("%q: %s=%q, want %q", tc.argv, k, p.flags[k], v)
			}
		}
	}
}

func TestStripRoot(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"--root", "/r", "--log", "/l"}, []string{"--log", "/l"}},
		{[]string{"--root=/r", "--debug"}, []string{"--debug"}},
		{nil, nil},
	}
	for _, tc := range cases {
		if got := stripRoot(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseSignal(t *testing.T) {
	cases := []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"9", unix.SIGKILL, true}, {"KILL", unix.SIGKILL, true}, {"SIGTERM", unix.SIGTERM, true},
		{"term", unix.SIGTERM, true}, {"0", 0, false}, {"65", 0, false}, {"SIGNOPE", 0, false},
	}
	for _, tc := range cases {
		got, err := parseSignal(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %v, %v", tc.in, got, err)
		}
	}
}
