//go:build amd64

package monitor_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/monitor"
)

// rxFrames is how many frames one receive round takes; rxQueue, the tap's
// queue, holds them and some slack for frames the namespace's kernel
// sends on its own (IPv6 router solicitations and the like), so the
// guest never waits for a frame that was dropped.
const (
	rxFrames = 4000
	rxQueue  = 5000
)

// BenchmarkNetFramesReceive: the other direction of BenchmarkNetFrames.
// A guest takes 60-byte frames from a tap (NET_READ, POLL only when none
// is queued), in frames per second, against the host reading the same
// frames from the same tap, alternating in one run. Each round first
// queues the frames on the tap (an AF_PACKET socket sends them out of
// the tap's interface in the private namespace), so the timing is the
// receiving side's alone.
func BenchmarkNetFramesReceive(b *testing.B) {
	kvmtest.Require(b)
	ns := netnstest.New(b)
	ns.AddTap("tap0", "", 0)
	ns.IP("link", "set", "dev", "tap0", "txqueuelen", "5000")
	var tap *devices.Tap
	var sock int
	if err := ns.Do(func() error {
		var err error
		if tap, err = devices.OpenTap("tap0", devices.MAC{}); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("tap0")
		if err != nil {
			return err
		}
		if sock, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		return unix.Bind(sock, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
	}); err != nil {
		b.Fatal(err)
	}
	defer tap.Close()
	defer unix.Close(sock)
	buf := make([]byte, microguest.NetEchoBufSize)
	// fill queues the frames of a round (the queue was drained before).
	fill := func() {
		for range rxQueue {
			if _, err := unix.Write(sock, microguest.NetEchoFrame[:]); err != nil {
				b.Fatalf("sending a frame out of tap0: %v", err)
			}
		}
	}
	// drain empties the tap's queue, whoever read from it.
	drain := func() {
		for {
			if _, err := tap.ReadFrame(buf); errors.Is(err, devices.ErrWouldBlock) {
				return
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	drain()
	image := microguest.NetReadLoop(rxFrames)
	var tGuest, tHost time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fill()
		b.StartTimer()
		start := time.Now()
		for got := 0; got < rxFrames; {
			_, err := tap.ReadFrame(buf)
			switch {
			case errors.Is(err, devices.ErrWouldBlock):
				// Read as the monitor's POLL does: wait for readiness.
				pfd := []unix.PollFd{{Fd: int32(tap.ReadyFD()), Events: unix.POLLIN}}
				if n, err := unix.Poll(pfd, 1000); err != nil && err != unix.EINTR {
					b.Fatal(err)
				} else if n == 0 && err == nil {
					b.Fatalf("no frame on tap0 for a second, %d of %d read", got, rxFrames)
				}
			case err != nil:
				b.Fatal(err)
			default:
				got++
			}
		}
		tHost += time.Since(start)
		b.StopTimer()
		drain()
		fill()
		b.StartTimer()
		tGuest += timeGuest(b, monitor.Config{KernelImage: image, Memory: 8 << 20,
			Net: map[string]devices.Net{microguest.NetDeviceName: tap}})
		b.StopTimer()
		drain()
		b.StartTimer()
	}
	fps := func(d time.Duration) float64 { return float64(b.N*rxFrames) / d.Seconds() }
	b.ReportMetric(fps(tGuest), "guest-rx-frames/s")
	b.ReportMetric(fps(tHost), "host-rx-frames/s")
	b.ReportMetric(fps(tGuest)/fps(tHost), "rx-x-host")
}

// timeGuest boots the guest cfg describes, runs it to its exit (which
// must be 0) and closes it: the time a device benchmark's guest takes.
func timeGuest(b *testing.B, cfg monitor.Config) time.Duration {
	start := time.Now()
	vm, err := monitor.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	status, err := vm.Run(context.Background())
	vm.Close()
	if err != nil || status != 0 {
		b.Fatalf("status %d, err %v", status, err)
	}
	return time.Since(start)
}
