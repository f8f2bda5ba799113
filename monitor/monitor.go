// Package monitor runs Solo5 hvt unikernels on KVM, in-process.
//
// A VM is built from a Config in two steps. New checks everything it can
// without touching KVM (the ELF, its ABI and manifest notes, the devices
// against the manifest, memory size, command line) and only then creates
// the KVM VM, loads the unikernel and attaches devices. Run boots it on a
// dedicated OS thread and returns the guest's exit status. Close frees
// the VM; devices stay open and belong to the caller.
//
// The guest sees only the hvt hypercalls: console, block, net, wall
// time, poll and halt. Any guest-controlled value that breaks the ABI ends
// the VM with an error wrapping ErrGuest that names the hypercall and the
// bad value; the host process is never disturbed.
//
// Many VMs may run in one process at once.
package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/hypercall"
	"github.com/unimon/unimon/monitor/kvm"
)

// Sentinel errors, for errors.Is.
var (
	// ErrConfig: the Config is unusable (memory size, command line,
	// missing kernel, devices that do not match the manifest).
	ErrConfig = errors.New("invalid configuration")
	// ErrKernel: the unikernel file is not a valid Solo5 hvt ELF.
	ErrKernel = errors.New("invalid unikernel")
	// ErrNotDeclared: a device was given that the manifest does not
	// declare. The error is a *DeviceError, or several joined with
	// errors.Join when several devices are wrong (errors.As finds the
	// first).
	ErrNotDeclared = errors.New("resource not declared in manifest")
	// ErrNotAttached: the manifest declares a device that was not given.
	// The error is a *DeviceError, or several joined, as ErrNotDeclared.
	ErrNotAttached = errors.New("device declared but not attached")
	// ErrKVM: KVM is missing, inaccessible or too old.
	ErrKVM = kvm.ErrUnavailable
	// ErrGuest: the guest broke the ABI or crashed the vCPU (bad
	// hypercall, bad pointer, triple fault, unhandled exit).
	ErrGuest = errors.New("guest fault")
	// ErrKilled: the debugger killed the guest, or went away without
	// detaching (which unimon treats as a kill: a guest with breakpoints
	// in it never runs on unobserved).
	ErrKilled = errors.New("killed by the debugger")
	// ErrDevice: a valid guest request failed on the host side: the
	// console could not be written, a block or net backend failed.
	ErrDevice = errors.New("device error")
	// ErrClosed: the VM was closed or has already run.
	ErrClosed = errors.New("VM closed or already run")
)

// DeviceError is a device the Config and the manifest disagree about.
type DeviceError struct {
	Name     string
	Type     guestabi.DeviceType // the type the manifest declares or the Config gives
	Declared string              // what the manifest declares of that type, for the message
	Err      error               // ErrNotAttached or ErrNotDeclared
}

func (e *DeviceError) Error() string {
	if e.Err == ErrNotDeclared {
		return fmt.Sprintf("%s device %q is not declared by the unikernel (it declares %s)", e.Type, e.Name, e.Declared)
	}
	return fmt.Sprintf("the unikernel declares %s device %q but it is not attached", e.Type, e.Name)
}

// Unwrap returns ErrNotAttached or ErrNotDeclared.
func (e *DeviceError) Unwrap() error { return e.Err }

// Config describes one unikernel VM.
type Config struct {
	// Kernel is the path of the unikernel ELF. Exactly one of Kernel,
	// KernelImage and Unikernel is set.
	Kernel string
	// KernelImage is the unikernel ELF itself.
	KernelImage []byte
	// Unikernel is a unikernel already opened and checked (OpenUnikernel,
	// NewUnikernel): the way to boot one image many times, or to look at
	// its manifest first, without parsing it again.
	Unikernel *Unikernel
	// Memory is the guest memory in bytes: a multiple of 2 MiB from 2 MiB
	// to 4 GiB; 0 means 512 MiB, as solo5-hvt.
	Memory uint64
	// HugePages backs guest memory with transparent huge pages
	// (guestmem.NewHugePages): faster boots and guest memory access, for
	// a resident set that grows 2 MiB at a time. Off by default, as a
	// small unikernel then costs the least memory.
	HugePages bool
	// Args is the guest command line, joined with spaces (8191 bytes at most).
	Args []string
	// Console receives the guest's console output; nil discards it. A
	// console that is a pipe or /dev/null (*os.File) is also opened a
	// second time, non-blocking, to take output without a hand-off to
	// another thread when it has room (package hypercall); Close closes
	// that.
	Console io.Writer
	// Block and Net attach backends to the devices the manifest declares,
	// by name. Every declared device must be attached.
	Block map[string]devices.Block
	Net   map[string]devices.Net
	// NetCapture writes every frame of the net devices it names, both
	// directions, to the writer as a pcap stream (devices.Capture), which
	// tcpdump and Wireshark read. The writer gets the pcap header in New.
	NetCapture map[string]io.Writer
	// DumpCore, when set, is a directory where a guest that aborts (HALT
	// with status 255) or faults leaves an ELF core file for gdb (see
	// CoreFile). New refuses a directory it could not write to.
	DumpCore string
	// GDB, when set, is a connection to gdb, which makes the VM a gdb
	// remote target: Run serves the gdb remote serial protocol on it
	// (package gdbstub) from before the guest's first instruction.
	// Accepting the connection, from a net.Listener say, is the caller's;
	// once New has returned a VM, the connection is the VM's: Run closes it
	// when the session ends, Close if no Run did. A guest never reaches a
	// debugger it did not ask for: without GDB there is no stub.
	//
	// DumpCore and GDB need the debug modules, which a build with the tag
	// unimon_nodebug leaves out (the unimon command's lean build); New
	// then refuses them with an error wrapping ErrConfig and
	// errors.ErrUnsupported.
	GDB io.ReadWriteCloser
}

// VM is a unikernel ready to run.
type VM struct {
	mem      *guestmem.Memory
	vm       *kvm.VM
	vcpu     *kvm.VCPU
	disp     *hypercall.Dispatcher
	core     *hypercall.Core
	manifest *guestabi.Manifest
	life     lifecycle
	// interrupted is the hypercall step makes again; Run's only.
	interrupted interruptedCall
	// haltCookie is the last HALT's cookie: a core file's registers.
	haltCookie []byte
	debugState
}

// Manifest returns the unikernel's manifest as attached: entry i is
// device handle i, with the properties the guest sees.
func (vm *VM) Manifest() *guestabi.Manifest { return vm.manifest.Clone() }

// Inspect reads the ABI and manifest notes of a unikernel ELF without
// loading it or touching KVM.
func Inspect(r io.ReaderAt) (guestabi.ABIInfo, *guestabi.Manifest, error) {
	abi, m, err := elfload.Notes(r, hostArch.machine())
	if err != nil {
		return abi, nil, fmt.Errorf("%w: %w", ErrKernel, err)
	}
	return abi, m, nil
}

// Description is what a unikernel ELF says about itself in its notes.
type Description struct {
	// Arch names its architecture as GOARCH does: "amd64" or "arm64".
	Arch     string
	ABI      guestabi.ABIInfo
	Manifest *guestabi.Manifest
	// Requests are the guestabi.Request* bits of unimon's feature note
	// (0 for upstream unikernels, which have none).
	Requests uint32
	// WorkingSet is what unimon's boot working set note lists (none for
	// upstream unikernels).
	WorkingSet []guestabi.Range
}

// arches are the unikernel architectures unimon knows, by ELF machine,
// named as GOARCH names them.
var arches = map[elfload.Machine]string{elfload.MachineX86_64: "amd64", elfload.MachineAArch64: "arm64"}

// Describe reads a unikernel's notes whatever its architecture (an arm64
// build on an amd64 host too, where Inspect refuses it), without loading
// it or touching KVM. A file of a machine unimon does not know is read
// as x86_64's, so the error is the loader's usual one naming its
// e_machine.
func Describe(r io.ReaderAt) (Description, error) {
	machine := elfload.MachineX86_64
	if m, ok := elfload.FileMachine(r); ok && arches[m] != "" {
		machine = m
	}
	f, err := elfload.Parse(r, machine)
	if err != nil {
		return Description{}, fmt.Errorf("%w: %w", ErrKernel, err)
	}
	d, err := describe(f)
	if err != nil {
		return Description{}, fmt.Errorf("%w: %w", ErrKernel, err)
	}
	d.Arch = arches[machine]
	return d, nil
}

// describe reads the notes of a parsed unikernel: Solo5's ABI and
// manifest, and unimon's feature request and boot working set. Arch is
// left to the caller, which chose the machine.
func describe(f *elfload.File) (d Description, err error) {
	if d.ABI, d.Manifest, err = f.Notes(); err != nil {
		return Description{}, err
	}
	if d.Requests, err = f.Features(); err != nil {
		return Description{}, err
	}
	if d.WorkingSet, err = f.WorkingSet(); err != nil {
		return Description{}, err
	}
	return d, nil
}

// FeatureRequest reads the guestabi.Request* bits of a unikernel's
// feature note (0 for upstream unikernels, which have none), without
// loading it or touching KVM.
func FeatureRequest(r io.ReaderAt) (uint32, error) {
	req, err := elfload.Features(r, hostArch.machine())
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrKernel, err)
	}
	return req, nil
}

// New validates cfg, then creates and loads the VM. Nothing touches KVM
// until every check has passed.
func New(cfg Config) (_ *VM, err error) {
	if err := hostArch.checkHost(); err != nil {
		return nil, err
	}
	u, done, err := unikernel(cfg)
	if err != nil {
		return nil, err
	}
	defer done()
	manifest, request, name := u.Manifest(), u.notes.Requests, u.name
	if err := attach(manifest, cfg); err != nil {
		return nil, err
	}
	size := cfg.Memory
	if size == 0 {
		size = guestmem.DefaultSize
	}
	if size%guestmem.Granule != 0 || size > guestmem.MaxSize {
		return nil, fmt.Errorf("%w: memory %d bytes: want a multiple of 2 MiB from 2 MiB to 4 GiB", ErrConfig, size)
	}
	if err := checkMemory(u.file, size, name); err != nil {
		return nil, err
	}
	cmdline := strings.Join(cfg.Args, " ")
	if len(cmdline) > guestabi.CmdlineSize-1 {
		return nil, fmt.Errorf("%w: guest command line too long (%d characters, max=%d)", ErrConfig, len(cmdline), guestabi.CmdlineSize-1)
	}
	if strings.IndexByte(cmdline, 0) >= 0 {
		return nil, fmt.Errorf("%w: guest command line contains a NUL byte", ErrConfig)
	}

	if err := checkDebug(cfg); err != nil {
		return nil, err
	}

	vm := &VM{manifest: manifest}
	defer func() {
		if err != nil {
			vm.Close()
		}
	}()
	sys, err := kvm.Open()
	if err != nil {
		return nil, err
	}
	// Only setting up asks /dev/kvm itself; the VM and vCPU fds serve the
	// run, gdb and core files. Closing it here leaves a locked-down
	// process (package sandbox) no fd it does not need.
	defer sys.Close()
	// setupVCPU's slowest question to KVM is asked on another thread
	// while guest memory is mapped and loaded and the VM and vCPU are
	// created, and answered before sys closes.
	prefetched := startPrefetch(sys)
	defer prefetched()
	newMemory := guestmem.New
	if cfg.HugePages {
		newMemory = guestmem.NewHugePages
	}
	if vm.mem, err = newMemory(size); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	img, err := u.file.Load(vm.mem)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrKernel, err)
	}
	if ws := u.notes.WorkingSet; len(ws) > 0 {
		// On a thread of its own, while the VM and its vCPU are created.
		defer background(func() { vm.prefault(ws) })()
	}
	if err := vm.setupDevices(cfg); err != nil {
		return nil, err
	}
	if vm.vm, err = sys.CreateVM(); err != nil {
		return nil, err
	}
	if err := vm.vm.SetMemory(0, 0, vm.mem.Host()); err != nil {
		return nil, err
	}
	var features uint32
	if vm.vcpu, features, err = hostArch.createVCPU(sys, vm.vm, request); err != nil {
		return nil, err
	}
	features |= gdbFeatures(cfg)
	if err := hostArch.setupMemory(vm.mem); err != nil {
		return nil, err
	}
	freq, err := hostArch.setupVCPU(sys, vm.vcpu, img.Entry, vm.mem.Size(), features)
	if err != nil {
		return nil, err
	}
	if err := vm.writeBootInfo(img.KernelEnd, freq, features, cmdline); err != nil {
		return nil, err
	}
	// Last: a New that fails leaves Config.GDB to the caller.
	vm.initDebug(cfg)
	return vm, nil
}

// Prefetch starts asking KVM, on a goroutine of its own, for what New
// will need of the host and is slow to answer: on x86_64 the CPUID KVM
// supports, which package kvm keeps for the process (0.85-0.93 ms on the
// nested hosts measured, the slowest call of a boot). A process with work
// to do before its first New (the CLI opens the unikernel, its devices
// and its signal handling) overlaps it that way; New asks by itself, so
// Prefetch only starts earlier. The returned function waits until the
// goroutine and the /dev/kvm fd it opened are gone; call it before what
// must not race with them, such as a lock-down. Errors are left for New
// to report.
func Prefetch() (wait func()) {
	sys, err := kvm.Open()
	if err != nil {
		return func() {}
	}
	prefetched := startPrefetch(sys)
	return sync.OnceFunc(func() {
		prefetched()
		sys.Close()
	})
}

// startPrefetch runs the architecture's prefetch on sys on a goroutine of
// its own; the returned function waits for it to end.
func startPrefetch(sys *kvm.System) (wait func()) {
	return background(func() { hostArch.prefetch(sys) })
}

// background runs f on a goroutine of its own, for work New overlaps with
// its own; the returned function waits for f to return.
func background(f func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return func() { <-done }
}

// prefault has the host back the unikernel's boot working set
// (guestabi.NoteWorkingSet) with memory. The note was written for some
// memory size, so each range is cut to the memory below the top page (the
// checked accessor's bound) that this VM has. A range that reaches into a
// read-only segment, which the guest cannot write, is left alone.
//
// Measured on the Go hello example, whose note unimon build wrote (326
// pages, 146 of which the guest writes before it exits): the guest's part
// of a boot 1.4-2.5 ms shorter, the whole boot 1.5-4.4% shorter, for
// 0.75 MiB more peak RSS (the pages it never writes).
func (vm *VM) prefault(ranges []guestabi.Range) {
	top := vm.mem.Size() - uint64(os.Getpagesize())
	for _, r := range ranges {
		end := min(r.End(), top)
		if r.Start >= end {
			continue
		}
		// Best effort: where the host cannot populate (Linux before
		// 5.14), the guest faults the pages in as it writes them.
		_ = vm.mem.Populate(r.Start, end-r.Start)
	}
}

// attach checks the configured devices against the manifest and records
// in it the properties the guest will see, as upstream's modules do.
//
// Every device the Config and the manifest disagree about is reported:
// one *DeviceError, or several joined (errors.Join) when there are more.
func attach(m *guestabi.Manifest, cfg Config) error {
	if err := checkNil(cfg); err != nil {
		return err
	}
	var mismatched []error
	given := func(names []string, want guestabi.DeviceType) error {
		slices.Sort(names)
		for _, n := range names {
			h := m.Lookup(n)
			if h < 0 {
				mismatched = append(mismatched, &DeviceError{Name: n, Type: want, Declared: declared(m, want), Err: ErrNotDeclared})
				continue
			}
			if got := m.Entries[h].Type; got != want {
				return fmt.Errorf("%w: device %q is declared as %s, not %s", ErrConfig, n, got, want)
			}
		}
		return nil
	}
	if err := given(mapKeys(cfg.Block), guestabi.DeviceBlockBasic); err != nil {
		return err
	}
	if err := given(mapKeys(cfg.Net), guestabi.DeviceNetBasic); err != nil {
		return err
	}
	if err := given(mapKeys(cfg.NetCapture), guestabi.DeviceNetBasic); err != nil {
		return err
	}
	if len(mismatched) > 0 {
		return joinDeviceErrors(mismatched)
	}
	for h := 1; h < len(m.Entries); h++ {
		e := m.Entries[h]
		_, block := cfg.Block[e.Name]
		_, net := cfg.Net[e.Name]
		if e.Type == guestabi.DeviceBlockBasic && !block || e.Type == guestabi.DeviceNetBasic && !net {
			mismatched = append(mismatched, &DeviceError{Name: e.Name, Type: e.Type, Err: ErrNotAttached})
		}
	}
	if len(mismatched) > 0 {
		return joinDeviceErrors(mismatched)
	}
	for h := 1; h < len(m.Entries); h++ {
		e := &m.Entries[h]
		switch e.Type {
		case guestabi.DeviceBlockBasic:
			b := cfg.Block[e.Name]
			e.Capacity, e.BlockSize = b.Capacity(), b.BlockSize()
		case guestabi.DeviceNetBasic:
			n := cfg.Net[e.Name]
			mtu := n.MTU()
			if mtu <= 0 || mtu > 0xffff {
				return fmt.Errorf("%w: net device %q has MTU %d", ErrConfig, e.Name, mtu)
			}
			// NET_INFO hands the guest these 6 bytes. All zero is no
			// address: a Net of one's own that never set it.
			mac := n.MAC()
			if mac == (devices.MAC{}) {
				return fmt.Errorf("%w: net device %q has the all-zero MAC", ErrConfig, e.Name)
			}
			e.MAC = mac
			e.MTU = uint16(mtu)
		default:
			return fmt.Errorf("%w: manifest entry %d (%q) has unsupported type %s", ErrKernel, h, e.Name, e.Type)
		}
		e.Attached = true
	}
	return nil
}

// joinDeviceErrors returns the one error, or all of them joined, so that
// errors.As still finds a *DeviceError and errors.Is its sentinel.
func joinDeviceErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func declared(m *guestabi.Manifest, t guestabi.DeviceType) string {
	var names []string
	for _, h := range m.Devices(t) {
		names = append(names, fmt.Sprintf("%q", m.Entries[h].Name))
	}
	if len(names) == 0 {
		return "no " + t.String() + " devices"
	}
	return t.String() + " devices " + strings.Join(names, ", ")
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// setupDevices builds the hypercall modules over the attached devices.
func (vm *VM) setupDevices(cfg Config) error {
	console := cfg.Console
	if console == nil {
		console = io.Discard
	}
	var err error
	vm.disp = hypercall.NewDispatcher()
	if vm.core, err = hypercall.NewCore(console); err != nil {
		return err
	}
	if err := vm.core.Register(vm.disp); err != nil {
		return err
	}
	blocks, nets := map[int]devices.Block{}, map[int]devices.Net{}
	for h, e := range vm.manifest.Entries {
		switch e.Type {
		case guestabi.DeviceBlockBasic:
			blocks[h] = cfg.Block[e.Name]
		case guestabi.DeviceNetBasic:
			nets[h] = cfg.Net[e.Name]
			if w := cfg.NetCapture[e.Name]; w != nil {
				c, err := devices.Capture(nets[h], w)
				if err != nil {
					return fmt.Errorf("%w: net device %q capture: %w", ErrConfig, e.Name, err)
				}
				nets[h] = c
			}
		}
	}
	// Like upstream, a module only registers when the unikernel has such
	// devices, so BLOCK_* from a guest without block devices is an invalid
	// hypercall rather than a string of EINVALs.
	if len(blocks) > 0 {
		if err := hypercall.NewBlock(blocks).Register(vm.disp); err != nil {
			return err
		}
	}
	if len(nets) > 0 {
		if err := hypercall.NewNet(nets, vm.core).Register(vm.disp); err != nil {
			return err
		}
	}
	return nil
}

// writeBootInfo lays out boot info, the attached manifest and the command
// line at 0x10000, where the guest finds them read-only.
func (vm *VM) writeBootInfo(kernelEnd, cycleFreq uint64, hostFeatures uint32, cmdline string) error {
	mft := vm.manifest.Encode()
	cmdAddr := uint64(guestabi.ManifestAddr + len(mft))
	bi := guestabi.BootInfo{
		MemSize:      vm.mem.Size(),
		KernelEnd:    kernelEnd,
		CPUCycleFreq: cycleFreq,
		Cmdline:      cmdAddr,
		Manifest:     guestabi.ManifestAddr,
		HostFeatures: hostFeatures,
	}
	total := cmdAddr + guestabi.CmdlineSize - guestabi.BootInfoAddr
	// Zeroed rather than cleared: the command line's 8 KiB are mostly
	// zero, and fresh memory already is (see guestmem.Memory.Zero).
	b, err := vm.mem.Zeroed(guestabi.BootInfoAddr, total)
	if err != nil {
		return fmt.Errorf("%w: boot info does not fit: %w", ErrConfig, err)
	}
	bi.Encode(b)
	copy(b[guestabi.ManifestAddr-guestabi.BootInfoAddr:], mft)
	copy(b[cmdAddr-guestabi.BootInfoAddr:], cmdline)
	return nil
}

// Close frees the VM's KVM resources and memory. It does not close the
// devices of the Config. A Run in progress is stopped first (it returns
// an error wrapping ErrClosed) and Close waits for it to return, so Close
// may be called from any goroutine at any time, and more than once. It
// must not be called from a device backend's method while Run is calling
// it, which would wait for itself.
func (vm *VM) Close() error {
	vm.life.closeOnce.Do(func() {
		vm.life.stop()
		vm.life.closeErr = vm.free()
	})
	return vm.life.closeErr
}

// free releases what New created; no Run may be in progress.
func (vm *VM) free() error {
	vm.closeGDB()
	var errs []error
	if vm.vcpu != nil {
		errs = append(errs, vm.vcpu.Close())
	}
	if vm.vm != nil {
		errs = append(errs, vm.vm.Close())
	}
	if vm.core != nil {
		errs = append(errs, vm.core.Close())
	}
	if vm.mem != nil {
		errs = append(errs, vm.mem.Close())
	}
	vm.vcpu, vm.vm, vm.core, vm.mem = nil, nil, nil, nil
	return errors.Join(errs...)
}
