package monitor_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// zeroMACNet is a Net of one's own that never set its guest's address.
type zeroMACNet struct{ devices.Net }

func (zeroMACNet) MAC() devices.MAC { return devices.MAC{} }

// These fail in New before any KVM resource exists, so they run anywhere.
func TestNewRejectsBadConfig(t *testing.T) {
	blk, err := devices.NewBlock(bytes.NewReader(make([]byte, 4096)), nil, 4096, 512)
	if err != nil {
		t.Fatal(err)
	}
	pipeA, pipeB, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pipeA.Close()
	defer pipeB.Close()
	hello, block, net := microguest.Host.Hello(), microguest.Host.BlockRoundTrip(), microguest.Host.NetEcho()
	parsed, err := monitor.NewUnikernel(hello)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  monitor.Config
		want error
		msg  string
	}{
		{"no kernel", monitor.Config{}, monitor.ErrConfig, "no unikernel"},
		{"both kernels", monitor.Config{Kernel: "x", KernelImage: hello}, monitor.ErrConfig, "one of"},
		{"path and parsed kernel", monitor.Config{Kernel: "x", Unikernel: parsed}, monitor.ErrConfig, "one of"},
		{"missing file", monitor.Config{Kernel: "/nonexistent/k.hvt"}, monitor.ErrConfig, "no such file"},
		{"not an ELF", monitor.Config{KernelImage: []byte("#!/bin/sh\n")}, monitor.ErrKernel, ""},
		{"memory not 2 MiB granular", monitor.Config{KernelImage: hello, Memory: 3 << 20}, monitor.ErrConfig, "2 MiB"},
		{"memory too big", monitor.Config{KernelImage: hello, Memory: 8 << 30}, monitor.ErrConfig, "4 GiB"},
		{"command line too long", monitor.Config{KernelImage: hello, Args: []string{strings.Repeat("x", 8192)}}, monitor.ErrConfig, "too long"},
		{"block not attached", monitor.Config{KernelImage: block}, monitor.ErrNotAttached, `BLOCK_BASIC device "storage" but it is not attached`},
		{"net not attached", monitor.Config{KernelImage: net}, monitor.ErrNotAttached, `NET_BASIC device "service0" but it is not attached`},
		{"block not declared", monitor.Config{KernelImage: hello, Block: map[string]devices.Block{"disk": blk}}, monitor.ErrNotDeclared, "no BLOCK_BASIC devices"},
		{"net given as block", monitor.Config{KernelImage: net, Block: map[string]devices.Block{"service0": blk}}, monitor.ErrConfig, "declared as NET_BASIC"},
		{"net not declared", monitor.Config{KernelImage: block, Block: map[string]devices.Block{"storage": blk}, Net: map[string]devices.Net{"eth0": pipeA}}, monitor.ErrNotDeclared, "eth0"},
		// Nil devices, typed or not, are configuration errors, never a panic.
		{"typed-nil tap", monitor.Config{KernelImage: net, Net: map[string]devices.Net{"service0": (*devices.Tap)(nil)}}, monitor.ErrConfig, `Net["service0"] is a nil *devices.Tap`},
		{"typed-nil pipe", monitor.Config{KernelImage: net, Net: map[string]devices.Net{"service0": (*devices.PipeEnd)(nil)}}, monitor.ErrConfig, "a nil *devices.PipeEnd"},
		{"nil net", monitor.Config{KernelImage: net, Net: map[string]devices.Net{"service0": nil}}, monitor.ErrConfig, `Net["service0"] is nil`},
		{"net with the all-zero MAC", monitor.Config{KernelImage: net, Net: map[string]devices.Net{"service0": zeroMACNet{pipeA}}}, monitor.ErrConfig, `net device "service0" has the all-zero MAC`},
		{"typed-nil block file", monitor.Config{KernelImage: block, Block: map[string]devices.Block{"storage": (*devices.FileBlock)(nil)}}, monitor.ErrConfig, `Block["storage"] is a nil *devices.FileBlock`},
		{"nil block", monitor.Config{KernelImage: block, Block: map[string]devices.Block{"storage": nil}}, monitor.ErrConfig, `Block["storage"] is nil`},
		{"typed-nil console", monitor.Config{KernelImage: hello, Console: (*bytes.Buffer)(nil)}, monitor.ErrConfig, "Console is a nil *bytes.Buffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm, err := monitor.New(tt.cfg)
			if err == nil {
				vm.Close()
				t.Fatal("New accepted the config")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}
