package main

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"

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

// foreignArchError is a unikernel built for another architecture than
// this host's: its hint says where it can run.
type foreignArchError struct {
	arch string
	err  error
}

func (e *foreignArchError) Error() string { return e.err.Error() }
func (e *foreignArchError) Unwrap() error { return e.err }

func (e *foreignArchError) hint() string {
	h := fmt.Sprintf("It is an %s unikernel and this host runs %s: run it on a Linux %s host with KVM", e.arch, runtime.GOARCH, e.arch)
	if e.arch == "arm64" {
		h += ", or here with scripts/arm64-run (an arm64 VM under qemu)"
	}
	return h + "."
}

// whyNotRunnable explains an error of monitor.OpenUnikernel on path: a
// unikernel for the other architecture gets a *foreignArchError.
func whyNotRunnable(path string, err error) error {
	f, oerr := monitor.OpenKernel(path)
	if oerr != nil {
		return err
	}
	defer f.Close()
	if arch, _, _, _, aerr := inspectAnyArch(f); aerr == nil && arch != runtime.GOARCH {
		return &foreignArchError{arch: arch, err: err}
	}
	return err
}
