//go:build !linux

package hypercall

import (
	"fmt"
	"io"
	"runtime"
)

// Core is the core module. Its wait set is Linux's epoll, timerfd and
// eventfd, so outside Linux (where no VM runs anyway: KVM is Linux's)
// NewCore refuses and the type exists only so the monitor's API compiles.
type Core struct{}

// NewCore fails: the core module needs Linux.
func NewCore(console io.Writer) (*Core, error) {
	return nil, fmt.Errorf("hypercall core: needs Linux (epoll, timerfd, eventfd), and this is %s", runtime.GOOS)
}

// Register fails: see NewCore.
func (c *Core) Register(d *Dispatcher) error { return ErrClosed }

// AddPollable fails: see NewCore.
func (c *Core) AddPollable(handle int, fd int) error { return ErrClosed }

func (c *Core) addPollables(fds map[int]int) error { return ErrClosed }

// Interrupt does nothing: see NewCore.
func (c *Core) Interrupt() {}

// Wake does nothing: see NewCore.
func (c *Core) Wake() {}

// Close does nothing: see NewCore.
func (c *Core) Close() error { return nil }
