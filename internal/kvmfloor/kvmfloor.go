//go:build amd64

// Package kvmfloor is the benchmark floor for unimon: the least a KVM
// monitor can do to run a Solo5 hvt unikernel. It trusts the ELF (one
// parse, for the segments and notes, no checks), has no devices, and
// handles only WALLTIME, PUTS, POLL (a sleep), HALT and the raw exit port
// of microguest.RawExitLoop, with raw ioctls through monitor/kvm. It
// grants a guest that asks for an irqchip the same one unimon grants
// (x86_64.CreateIRQChip), with the same CPUID, so a Go unikernel boots on
// it as on unimon. `make bench` reports unimon's costs as ratios to it.
package kvmfloor

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
	"github.com/unimon/unimon/monitor/x86_64"
)

// RawExitPort is the port microguest.RawExitLoop writes to; the floor
// re-enters the guest at once.
const RawExitPort = 0x4ff

// Options are what a run needs besides the image.
type Options struct {
	Memory  uint64 // guest memory in bytes; 0 means 8 MiB
	Cmdline string
	Out     io.Writer // the console; nil discards it
}

// Run boots the unikernel image reads and returns its HALT status.
func Run(image io.ReaderAt, o Options) (int, error) {
	size := o.Memory
	if size == 0 {
		size = 8 << 20
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	f, err := elfload.Parse(image, elfload.MachineX86_64)
	if err != nil {
		return 0, err
	}
	_, manifest, err := f.Notes()
	if err != nil {
		return 0, err
	}
	request, err := f.Features()
	if err != nil {
		return 0, err
	}
	mem, err := guestmem.New(size)
	if err != nil {
		return 0, err
	}
	defer mem.Close()
	img, err := f.Load(mem)
	if err != nil {
		return 0, err
	}
	if err := x86_64.SetupMemory(mem); err != nil {
		return 0, err
	}
	sys, err := kvm.Open()
	if err != nil {
		return 0, err
	}
	defer sys.Close()
	vm, err := sys.CreateVM()
	if err != nil {
		return 0, err
	}
	defer vm.Close()
	if err := vm.SetMemory(0, 0, mem.Host()); err != nil {
		return 0, err
	}
	var features uint32
	if request&guestabi.RequestIRQChip != 0 {
		if kind, err := x86_64.CreateIRQChip(vm); err != nil {
			return 0, err
		} else if kind != x86_64.IRQChipNone {
			features |= guestabi.FeatureIRQChip
		}
	}
	cpu, err := vm.CreateVCPU(0)
	if err != nil {
		return 0, err
	}
	defer cpu.Close()
	khz, err := cpu.TSCKHz()
	if err != nil {
		return 0, err
	}
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		return 0, err
	}
	if err := cpu.SetCPUID(x86_64.FilterCPUID(cpuid, features != 0, uint32(khz))); err != nil {
		return 0, err
	}
	sregs, err := cpu.Sregs()
	if err != nil {
		return 0, err
	}
	x86_64.SetupSregs(&sregs)
	if err := cpu.SetSregs(sregs); err != nil {
		return 0, err
	}
	if err := cpu.SetRegs(x86_64.EntryRegs(img.Entry, size)); err != nil {
		return 0, err
	}
	mft := manifest.Encode()
	cmdAddr := uint64(guestabi.ManifestAddr + len(mft))
	bi, err := mem.Writable(guestabi.BootInfoAddr, cmdAddr+uint64(len(o.Cmdline))+1-guestabi.BootInfoAddr)
	if err != nil {
		return 0, err
	}
	(&guestabi.BootInfo{MemSize: size, KernelEnd: img.KernelEnd, CPUCycleFreq: khz * 1000, Cmdline: cmdAddr,
		Manifest: guestabi.ManifestAddr, HostFeatures: features}).Encode(bi)
	copy(bi[guestabi.ManifestAddr-guestabi.BootInfoAddr:], mft)
	copy(bi[cmdAddr-guestabi.BootInfoAddr:], o.Cmdline)
	for {
		if err := cpu.Run(); err != nil {
			if err == kvm.ErrInterrupted {
				continue
			}
			return 0, err
		}
		if cpu.ExitReason() != kvm.ExitIO {
			return 0, fmt.Errorf("exit %s", kvm.ExitName(cpu.ExitReason()))
		}
		pio := cpu.IO()
		arg := uint64(binary.LittleEndian.Uint32(pio.Data))
		if pio.Port == RawExitPort {
			continue
		}
		switch guestabi.Hypercall(pio.Port - guestabi.PIOBase) {
		case guestabi.HypercallWalltime:
			b, err := mem.Writable(arg, guestabi.WalltimeSize)
			if err != nil {
				return 0, err
			}
			(&guestabi.Walltime{Nsecs: uint64(time.Now().UnixNano())}).Encode(b)
		case guestabi.HypercallPuts:
			b, err := mem.Bytes(arg, guestabi.PutsSize)
			if err != nil {
				return 0, err
			}
			var p guestabi.Puts
			p.Decode(b)
			data, err := mem.Bytes(p.Data, p.Len)
			if err != nil {
				return 0, err
			}
			out.Write(data)
		case guestabi.HypercallPoll:
			b, err := mem.Writable(arg, guestabi.PollSize)
			if err != nil {
				return 0, err
			}
			var p guestabi.Poll
			p.Decode(b)
			time.Sleep(time.Duration(min(p.TimeoutNsecs, uint64(time.Second))))
			(&guestabi.Poll{TimeoutNsecs: p.TimeoutNsecs}).Encode(b)
		case guestabi.HypercallHalt:
			b, err := mem.Bytes(arg, guestabi.HaltSize)
			if err != nil {
				return 0, err
			}
			var h guestabi.Halt
			h.Decode(b)
			return int(h.ExitStatus), nil
		default:
			return 0, fmt.Errorf("port %#x", pio.Port)
		}
	}
}
