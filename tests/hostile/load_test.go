package hostile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// TestThousandVMsInARow creates, runs and closes 1,000 VMs one after
// the other in this process, each checked, and then checks nothing grew.
// UNIMON_VMS_IN_A_ROW=N runs N instead, to tell a leak (growth with N)
// from the heap settling (the same growth whatever N).
func TestThousandVMsInARow(t *testing.T) {
	vmsInARow := 1000
	if v := os.Getenv("UNIMON_VMS_IN_A_ROW"); v != "" {
		fmt.Sscan(v, &vmsInARow)
	}
	kvmtest.Require(t)
	images := [][]byte{microguest.Hello(), microguest.Exit(7), microguest.Walltime()}
	// A first round warms up what the runtime keeps (threads, heap).
	runOne := func(i int) {
		var out bytes.Buffer
		img := images[i%len(images)]
		vm, err := monitor.New(monitor.Config{KernelImage: img, Memory: guestMem, Args: []string{fmt.Sprint(i)}, Console: &out})
		if err != nil {
			t.Fatalf("VM %d: %v", i, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), ends)
		status, err := vm.Run(ctx)
		cancel()
		if cerr := vm.Close(); cerr != nil {
			t.Fatalf("VM %d: Close: %v", i, cerr)
		}
		switch i % len(images) {
		case 0:
			if err != nil || status != 0 || out.String() != microguest.HelloText+fmt.Sprint(i)+"\n" {
				t.Fatalf("VM %d: status %d, err %v, output %q", i, status, err, out.String())
			}
		case 1:
			if err != nil || status != 7 {
				t.Fatalf("VM %d: status %d, err %v", i, status, err)
			}
		case 2:
			if err != nil || status != 0 || out.Len() != 8 {
				t.Fatalf("VM %d: status %d, err %v, %d bytes", i, status, err, out.Len())
			}
		}
	}
	for i := range 100 {
		runOne(i)
	}
	before := measure(t)
	for i := range vmsInARow {
		runOne(i)
	}
	noGrowth(t, before, 2, 16<<10)
}

// TestSixtyFourAtOnce runs 64 VMs at the same time, each with a block
// file of its own and an in-process net device whose host end echoes
// the guest's frame.
func TestSixtyFourAtOnce(t *testing.T) {
	kvmtest.Require(t)
	const n = 64
	dir := t.TempDir()
	round := func(r int) {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = runDeviceEcho(filepath.Join(dir, fmt.Sprintf("disk%d-%d.img", r, i)))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, VM %d: %v", r, i, err)
			}
		}
	}
	// Every VM runs on a thread of its own, which the Go runtime keeps
	// for reuse once Run unlocks it: the pool may grow to the peak number
	// of VMs at once, but two rounds must not need two pools.
	before := measure(t)
	round(0)
	round(1)
	noGrowth(t, before, n+runtime.GOMAXPROCS(0)+4, 32<<10)
}

// runDeviceEcho runs DeviceEcho over a new block file at path and a pipe
// whose other end echoes one frame, and checks everything it can.
func runDeviceEcho(path string) error {
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		return err
	}
	blk, err := devices.OpenBlockFile(path, devices.BlockOptions{})
	if err != nil {
		return err
	}
	defer blk.Close()
	guest, host, err := devices.NewPipe(devices.PipeOptions{})
	if err != nil {
		return err
	}
	defer guest.Close()
	defer host.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ends)
	defer cancel()
	echoed := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		n, err := host.ReadFrameContext(ctx, buf)
		if err == nil {
			err = host.WriteFrame(buf[:n])
		}
		echoed <- err
	}()
	var out bytes.Buffer
	vm, err := monitor.New(monitor.Config{
		KernelImage: microguest.Host.DeviceEcho(), Memory: guestMem, Console: &out,
		Block: map[string]devices.Block{microguest.BlockDeviceName: blk},
		Net:   map[string]devices.Net{microguest.NetDeviceName: guest},
	})
	if err != nil {
		return err
	}
	status, err := vm.Run(ctx)
	vm.Close()
	if err := <-echoed; err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	want := append(append([]byte(nil), microguest.BlockPattern[:]...), microguest.NetEchoFrame[:]...)
	if err != nil || status != 0 || !bytes.Equal(out.Bytes(), want) {
		return fmt.Errorf("status %d, err %v, output %d bytes (want %d)", status, err, out.Len(), len(want))
	}
	disk, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(disk[microguest.BlockRoundTripOffset:][:microguest.BlockRoundTripSize], microguest.BlockPattern[:]) {
		return errors.New("the block file lacks the pattern the guest wrote")
	}
	return nil
}

// TestCancelSpinning cancels 200 guests that spin without ever exiting:
// each Run returns the context's error, each Close succeeds, and nothing
// leaks.
func TestCancelSpinning(t *testing.T) {
	kvmtest.Require(t)
	spin := microguest.Host.Spin()
	before := measure(t)
	for i := range 200 {
		vm, err := monitor.New(monitor.Config{KernelImage: spin, Memory: guestMem})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := vm.Run(ctx)
			done <- err
		}()
		// Vary when the cancel lands: before Run starts, while it enters
		// the guest, and once it spins.
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		cancel()
		select {
		case err = <-done:
		case <-time.After(ends):
			t.Fatalf("cancel %d: Run did not return", i)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancel %d: Run returned %v, want context.Canceled", i, err)
		}
		if err := vm.Close(); err != nil {
			t.Errorf("cancel %d: Close: %v", i, err)
		}
	}
	noGrowth(t, before, runtime.GOMAXPROCS(0)+4, 32<<10)
}
