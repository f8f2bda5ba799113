package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"golang.org/x/sys/unix"
)

// --net=@NN, as an orchestrator uses it: the tap is opened and attached
// by the parent, which passes the descriptor down; the guest's frame
// goes out through it and the host's answer comes back.
//
// It is here, not in a file both architectures share, because the ARM64
// lane's VM has no iproute2 to make the network namespace (see
// monitor's TestNetTap); nothing in it depends on the architecture.
func TestCLITapDescriptor(t *testing.T) {
	kvmtest.Require(t)
	bin := cli(t)
	ns := netnstest.New(t)
	ns.AddTap("tap0", "", 1400)
	ns.DisableIPv6("tap0")
	var tun *os.File
	err := ns.Do(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq("tap0")
		if err == nil {
			ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		tun = os.NewFile(uintptr(fd), "tap0")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()

	link := ns.Packet("tap0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, bin, "--mem=8", "--net=@3", writeGuest(t, guests.NetEcho()))
	cmd.ExtraFiles = []*os.File{tun} // fd 3
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reply := []byte("\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x88\xb5reply through a descriptor, padded to 60 bytes")
	buf := make([]byte, 2048)
	for {
		n, err := link.Read(buf, 30*time.Second)
		if err != nil {
			t.Fatalf("no frame from the guest: %v (stderr %q)", err, stderr.String())
		}
		if bytes.Equal(buf[:n], microguest.NetEchoFrame[:]) {
			break
		}
	}
	// A fresh attach may drop a frame or two: answer until the guest
	// has its reply.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
answer:
	for {
		if err := link.Write(reply); err != nil {
			t.Fatal(err)
		}
		select {
		case waitErr = <-done:
			break answer
		case <-time.After(200 * time.Millisecond):
		}
	}
	if waitErr != nil || !strings.Contains(stdout.String(), "reply through a descriptor") {
		t.Errorf("exit %v, stdout %q, stderr %q", waitErr, stdout.String(), stderr.String())
	}
}
