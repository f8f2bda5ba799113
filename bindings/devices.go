//go:build linux

package bindings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/unimon/unimon/guestabi"
)

// The functions here are the program's side of the devices (dev.go is
// the kernel's): ordinary Go that runs in the program, reading the
// manifest copy the monitor wrote (identity-mapped low memory, readable
// from the program) and opening the device files.

// ErrNotUnikernel is returned by the device functions in an ordinary
// process, where there is no Solo5 manifest.
var ErrNotUnikernel = errors.New("bindings: not running as a unikernel")

// device returns the manifest entry of the attached device name if it
// has type typ.
func device(name string, typ uint32) (uintptr, error) {
	if !booted {
		return 0, ErrNotUnikernel
	}
	kind := "block"
	if typ == mftTypeNet {
		kind = "net"
	}
	h := mftLookup([]byte(name))
	if h < 0 {
		return 0, fmt.Errorf("bindings: no attached device %q in the manifest: %w", name, fs.ErrNotExist)
	}
	if mftType(uint32(h)) != typ {
		return 0, fmt.Errorf("bindings: device %q is not a %s device", name, kind)
	}
	return mftEntry(h), nil
}

// BlockInfo returns the size in bytes and the block (sector) size of the
// attached block device name, from the manifest.
func BlockInfo(name string) (size int64, blockSize int, err error) {
	e, err := device(name, mftTypeBlock)
	if err != nil {
		return 0, 0, err
	}
	return int64(*u64at(e + guestabi.EntryCapacityOff)), int(*(*uint16)(ptr(e + guestabi.EntryBlockSizeOff))), nil
}

// NetInfo returns the guest's MAC address and the MTU (without the
// 14-byte Ethernet header) of the attached net device name, from the
// manifest. The MAC is an array so that every unikernel need not link
// package net; net.HardwareAddr(mac[:]) converts it.
func NetInfo(name string) (mac [6]byte, mtu int, err error) {
	e, err := device(name, mftTypeNet)
	if err != nil {
		return mac, 0, err
	}
	mac = *(*[6]byte)(ptr(e + guestabi.EntryMACOff))
	return mac, int(*(*uint16)(ptr(e + guestabi.EntryMTUOff))), nil
}

// OpenBlock opens the attached block device name for reading and
// writing. The file works at any offset and length (the bindings do
// whole-block I/O underneath), and Stat().Size() is the capacity, so
// io.NewSectionReader and friends work:
//
//	disk, err := bindings.OpenBlock("storage")
//	if err != nil { ... }
//	defer disk.Close()
//	_, err = disk.WriteAt([]byte("hello"), 1000)
//	buf := make([]byte, 5)
//	_, err = disk.ReadAt(buf, 1000)
//
// It is os.OpenFile(DevicePrefix+name, os.O_RDWR, 0) after checking the
// manifest, which gives the clearer error.
func OpenBlock(name string) (*os.File, error) {
	if _, err := device(name, mftTypeBlock); err != nil {
		return nil, err
	}
	return os.OpenFile(DevicePrefix+name, os.O_RDWR, 0)
}

// OpenNet opens the attached net device name: each Read returns one
// Ethernet frame (truncated to the buffer, so use one of MTU+14 bytes)
// and each Write sends one. A Read with no frame waiting parks the
// goroutine in the Go runtime's netpoller, which the bindings wake when
// the monitor reports input, so waiting costs no CPU; SetReadDeadline
// works. Only one file at a time can have a net device open, and frames
// that arrive while none has it open are dropped.
//
//	nic, err := bindings.OpenNet("service0")
//	if err != nil { ... }
//	mac, mtu, _ := bindings.NetInfo("service0")
//	frame := make([]byte, mtu+14)
//	n, err := nic.Read(frame) // waits for a frame
//	_, err = nic.Write(reply)
func OpenNet(name string) (*os.File, error) {
	if _, err := device(name, mftTypeNet); err != nil {
		return nil, err
	}
	return os.OpenFile(DevicePrefix+name, os.O_RDWR, 0)
}
