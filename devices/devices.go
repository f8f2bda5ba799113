// Package devices provides the host-side backends behind a guest's block
// and network devices: files and io.ReaderAt/io.WriterAt values for block,
// tap interfaces and in-process frame pipes for net.
//
// A backend knows nothing about guests, hypercalls or KVM: the monitor's
// hypercall modules translate guest requests into calls on these
// interfaces after checking every guest-controlled value.
package devices

import "errors"

// ErrWouldBlock is returned by Net.ReadFrame when no frame is waiting.
var ErrWouldBlock = errors.New("no frame available")

// ErrReadOnly is returned by Block.WriteAt on a read-only device.
var ErrReadOnly = errors.New("block device is read-only")

// Block is a fixed-size random-access device addressed in bytes.
// The monitor only calls ReadAt and WriteAt with whole blocks inside
// [0, Capacity()), one block per call.
type Block interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	// Capacity is the device size in bytes, a multiple of BlockSize.
	Capacity() uint64
	// BlockSize is the sector size: a power of two, at least 512.
	BlockSize() uint16
	Close() error
}

// Net is an Ethernet device that moves whole frames without blocking.
type Net interface {
	// ReadFrame copies the next frame into p and returns its length,
	// truncating frames longer than p. It returns ErrWouldBlock at once
	// when no frame is waiting. Any other error (a tap read error, io.EOF
	// from a pipe whose peer closed) means the device is gone; solo5-hvt
	// treats that as fatal, and so should the monitor.
	ReadFrame(p []byte) (int, error)
	// WriteFrame sends one frame.
	WriteFrame(p []byte) error
	// MAC is the guest's hardware address on this device.
	MAC() MAC
	// MTU excludes the 14-byte Ethernet header.
	MTU() int
	// ReadyFD is a file descriptor that polls readable (level-triggered,
	// EPOLLIN) while a frame is waiting; the monitor waits on it with
	// epoll and never reads or closes it.
	ReadyFD() int
	Close() error
}
