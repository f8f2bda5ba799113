//go:build amd64

// Package kvmfloor is the benchmark floor for unimon: the least a KVM
// monitor can do to run a Solo5 hvt micro-guest. It trusts the ELF, checks
// nothing, has no devices and handles only PUTS, HALT and the raw exit
// port of microguest.RawExitLoop, with raw ioctls through monitor/kvm.
// `make bench` reports unimon's costs as ratios to it.
package kvmfloor

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
	"github.com/unimon/unimon/monitor/x86_64"
)

// RawExitPort is the port microguest.RawExitLoop writes to; the floor
// re-enters the guest at once.
const RawExitPort = 0x4ff

// Run boots image in 8 MiB and returns its HALT status.
func Run(image []byte, out io.Writer) (int, error) {
	const size = 8 << 20
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return 0, err
	}
	mem, err := guestmem.New(size)
	if err != nil {
		return 0, err
	}
	defer mem.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Filesz > 0 {
			b, err := mem.Writable(p.Vaddr, p.Filesz)
			if err != nil {
				return 0, err
			}
			if _, err := p.ReadAt(b, 0); err != nil {
				return 0, err
			}
		}
	}
	if err := x86_64.SetupMemory(mem); err != nil {
		return 0, err
	}
	// An empty command line right after the boot info.
	bi, err := mem.Writable(guestabi.BootInfoAddr, guestabi.BootInfoSize+1)
	if err != nil {
		return 0, err
	}
	(&guestabi.BootInfo{MemSize: size, Cmdline: guestabi.BootInfoAddr + guestabi.BootInfoSize}).Encode(bi)
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
	cpu, err := vm.CreateVCPU(0)
	if err != nil {
		return 0, err
	}
	defer cpu.Close()
	sregs, err := cpu.Sregs()
	if err != nil {
		return 0, err
	}
	x86_64.SetupSregs(&sregs)
	if err := cpu.SetSregs(sregs); err != nil {
		return 0, err
	}
	if err := cpu.SetRegs(x86_64.EntryRegs(f.Entry, size)); err != nil {
		return 0, err
	}
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
		switch pio.Port - guestabi.PIOBase {
		case uint16(guestabi.HypercallPuts):
			b, _ := mem.Bytes(arg, guestabi.PutsSize)
			var p guestabi.Puts
			p.Decode(b)
			data, err := mem.Bytes(p.Data, p.Len)
			if err != nil {
				return 0, err
			}
			out.Write(data)
		case uint16(guestabi.HypercallHalt):
			b, _ := mem.Bytes(arg, guestabi.HaltSize)
			var h guestabi.Halt
			h.Decode(b)
			return int(h.ExitStatus), nil
		default:
			return 0, fmt.Errorf("port %#x", pio.Port)
		}
	}
}
