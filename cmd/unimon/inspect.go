package main

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/elfload"
)

// archNames are the unikernel architectures unimon knows, by ELF machine,
// named as GOARCH names them.
var archNames = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}

// inspectAnyArch reads a unikernel's notes whatever its architecture, so
// that `unimon info` describes an arm64 build on an amd64 host and back
// (monitor.Inspect accepts only what this host can run).
func inspectAnyArch(r io.ReaderAt) (arch string, abi guestabi.ABIInfo, m *guestabi.Manifest, request uint32, err error) {
	machine := elf.EM_X86_64
	var hdr [20]byte
	if _, err := r.ReadAt(hdr[:], 0); err == nil && string(hdr[:4]) == elf.ELFMAG {
		if mc := elf.Machine(binary.LittleEndian.Uint16(hdr[18:])); archNames[mc] != "" {
			machine = mc
		}
	}
	// An unknown machine is checked as x86_64, so the error is the
	// loader's usual one naming the e_machine found.
	if abi, m, err = elfload.Notes(r, machine); err != nil {
		return "", abi, nil, 0, fmt.Errorf("%w: %w", monitor.ErrKernel, err)
	}
	if request, err = elfload.Features(r, machine); err != nil {
		return "", abi, nil, 0, fmt.Errorf("%w: %w", monitor.ErrKernel, err)
	}
	return archNames[machine], abi, m, request, nil
}
