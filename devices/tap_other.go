//go:build !linux

package devices

import (
	"fmt"
	"runtime"
)

// Tap is a Linux tap interface. Outside Linux there are none (and no VM
// to attach one to: KVM is Linux's); the type exists so that code naming
// it compiles everywhere, and OpenTap and OpenTapFD fail.
type Tap struct{}

func errNoTap(what string) error {
	return fmt.Errorf("%s: tap devices need Linux, and this is %s", what, runtime.GOOS)
}

// OpenTap fails outside Linux.
func OpenTap(ifname string, mac MAC) (*Tap, error) {
	return nil, errNoTap("tap " + ifname)
}

// OpenTapFD fails outside Linux.
func OpenTapFD(fd int, mac MAC) (*Tap, error) {
	return nil, errNoTap(fmt.Sprintf("tap fd %d", fd))
}

// Name is empty: no Tap is ever opened outside Linux.
func (t *Tap) Name() string { return "" }

// MAC is the zero MAC: see Name.
func (t *Tap) MAC() MAC { return MAC{} }

// MTU is 0: see Name.
func (t *Tap) MTU() int { return 0 }

// ReadyFD is -1: see Name.
func (t *Tap) ReadyFD() int { return -1 }

// ReadFrame fails: see Name.
func (t *Tap) ReadFrame(p []byte) (int, error) { return 0, errNoTap("tap") }

// WriteFrame fails: see Name.
func (t *Tap) WriteFrame(p []byte) error { return errNoTap("tap") }

// Close does nothing: see Name.
func (t *Tap) Close() error { return nil }
