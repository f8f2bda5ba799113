package ocirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/ociimage"
)

// Holder is the container's process (what create's pid file names): it
// prepares the unikernel, tells create it is ready on fd 3, waits for
// start on the exec FIFO, plugs the network the engine set up meanwhile,
// and runs the guest. It returns the container's exit status: the
// guest's, 128+N after signal N, 1 on an error (printed to stderr, which
// is the container's).
func Holder(root, id, bundleDir string) int {
	// Signals before the guest runs end the holder at once; afterwards
	// they cancel the run so that the tap is unplugged first.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT)
	var running atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int32
	go func() {
		s := (<-sigs).(syscall.Signal)
		got.Store(int32(s))
		if !running.Load() {
			os.Exit(128 + int(s))
		}
		cancel()
	}()

	sync := os.NewFile(3, "sync")
	fail := func(err error) int {
		if sync != nil {
			fmt.Fprintf(sync, "%v\n", err)
			sync.Close()
		} else {
			fmt.Fprintf(os.Stderr, "unimon-runtime: %v\n", err)
		}
		return 1
	}
	b, err := loadBundle(bundleDir)
	if err != nil {
		return fail(err)
	}
	p, err := b.unikernel()
	if err != nil {
		return fail(err)
	}
	blocks, err := b.openBlocks(p)
	defer func() {
		for _, d := range blocks {
			d.Close()
		}
	}()
	if err != nil {
		return fail(err)
	}
	netns := ""
	if ns, ok := b.namespace(specs.NetworkNamespace); ok {
		netns = ns.Path
	}
	fmt.Fprintln(sync, syncOK)
	sync.Close()
	sync = nil

	if err := waitStart(filepath.Join(root, id, fifoFile)); err != nil {
		return fail(err)
	}
	running.Store(true)
	if got.Load() != 0 { // a signal raced with start
		return 128 + int(got.Load())
	}

	cfg := monitor.Config{KernelImage: p.kernel, Memory: p.memory, Console: os.Stdout, Block: blocks, Net: map[string]devices.Net{}}
	nets := p.manifest.Devices(guestabi.DeviceNetBasic)
	var np *netPlan
	if len(nets) > 0 {
		var tap *devices.Tap
		if err := inNetNS(netns, func() (err error) { np, tap, err = plugNet(); return err }); err != nil {
			return fail(err)
		}
		defer inNetNS(netns, unplugNet)
		if tap != nil {
			defer tap.Close()
			cfg.Net[p.manifest.Entries[nets[0]].Name] = tap
			nets = nets[1:]
		}
		// Devices the namespace has no interface for are attached to a
		// pipe with nobody at the other end: the guest sees a quiet link.
		for _, h := range nets {
			a, other, err := devices.NewPipe(devices.PipeOptions{})
			if err != nil {
				return fail(err)
			}
			defer a.Close()
			defer other.Close()
			cfg.Net[p.manifest.Entries[h].Name] = a
		}
	}
	cfg.Args = p.args
	if np != nil {
		cfg.Args = append(np.guestArgs(p.netArgs), p.args...)
	}

	vm, err := monitor.New(cfg)
	if err != nil {
		return fail(err)
	}
	defer vm.Close()
	status, err := vm.Run(ctx)
	if s := got.Load(); s != 0 {
		return 128 + int(s)
	}
	if err != nil {
		return fail(err)
	}
	return status & 0xff
}

// waitStart blocks until start opens the exec FIFO and reads from it.
func waitStart(fifo string) error {
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil && !errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("exec fifo: %w", err)
	}
	return nil
}

// openBlocks opens the block devices the annotations attach, each path
// resolved inside the root filesystem.
func (b *bundle) openBlocks(p *plan) (map[string]devices.Block, error) {
	out := map[string]devices.Block{}
	for name, path := range p.block {
		f, err := b.openInRoot(path, unix.O_PATH)
		if err != nil {
			return out, fmt.Errorf("annotation %s%s: %w", ociimage.SettingBlockPrefix, name, err)
		}
		// The O_PATH descriptor pins the file the safe lookup found;
		// opening it through /proc reopens exactly that file.
		d, err := devices.OpenBlockFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), devices.BlockOptions{})
		f.Close()
		if err != nil {
			return out, fmt.Errorf("annotation %s%s: %w", ociimage.SettingBlockPrefix, name, err)
		}
		out[name] = d
	}
	return out, nil
}
