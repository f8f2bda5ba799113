package main

import (
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
)

// FuzzParseRunArgs feeds the run command's parser arbitrary argument
// vectors (NUL-separated in one string, since a fuzz input cannot be a
// []string): it must never panic, every refusal must be one line, and
// whatever it accepts must name a kernel (or be --help/--version) and
// survive resolving against a manifest.
func FuzzParseRunArgs(f *testing.F) {
	for _, args := range [][]string{
		{"k.hvt"},
		{"--mem=64", "k.hvt", "a", "--mem=1"},
		{"--mem", "64", "k"},
		{"--net:service0=tap0", "--net-mac:service0=02:00:00:00:00:01", "--block:disk=d.img", "--block-sector-size:disk=4096", "k"},
		{"--net=tap0", "--block=d.img", "k"},
		{"--net:service0=@3", "k"},
		{"--", "--weird"},
		{"--help"},
		{"--version"},
		{"--net:=x", "k"},
		{"--block-sector-size:a=1000", "k"},
	} {
		f.Add(strings.Join(args, "\x00"))
	}
	manifest := guestabi.NewManifest(
		guestabi.Entry{Name: "service0", Type: guestabi.DeviceNetBasic},
		guestabi.Entry{Name: "disk", Type: guestabi.DeviceBlockBasic},
	)
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o, err := parseRunArgs(args)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("%q: refusal is not one line: %q", args, msg)
			}
			return
		}
		if !o.help && !o.version && o.kernel == "" {
			t.Fatalf("%q: accepted without a kernel", args)
		}
		if err := o.resolve(manifest.Clone()); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("%q: resolve error is not one line: %q", args, err)
		}
	})
}
