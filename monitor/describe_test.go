package monitor_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/elfload"
)

// Describe reads either architecture's unikernel on any host, and fails
// as the loader does (ErrKernel) on what is not one.
func TestDescribe(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe") // a plain `go test -c` binary
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		image   []byte
		arch    string
		devices int
		err     error
	}{
		{"x86_64", microguest.Hello(), "amd64", 0, nil},
		{"x86_64 with a device", microguest.NetEcho(), "amd64", 1, nil},
		{"arm64", microguest.A64Hello(), "arm64", 0, nil},
		{"arm64 with a device", microguest.A64NetEcho(), "arm64", 1, nil},
		{"not an ELF", []byte("#!/bin/sh\n"), "", 0, monitor.ErrKernel},
		{"no Solo5 notes", self, "", 0, elfload.ErrNoABINote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := monitor.Describe(bytes.NewReader(tt.image))
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errors.Is(err, monitor.ErrKernel) {
					t.Fatalf("Describe: %v, want %v (and ErrKernel)", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Arch != tt.arch || d.ABI.Target != guestabi.ABITargetHVT || len(d.Manifest.Entries)-1 != tt.devices || d.Requests != 0 {
				t.Errorf("Describe: %+v", d)
			}
		})
	}
}

// Describe a unikernel built for either architecture.
func ExampleDescribe() {
	d, err := monitor.Describe(bytes.NewReader(microguest.A64Hello()))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Arch, "unikernel, ABI version", d.ABI.Version, "with", len(d.Manifest.Entries)-1, "devices")
	// Output: arm64 unikernel, ABI version 2 with 0 devices
}
