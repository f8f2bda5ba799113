package monitor

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// OpenKernel opens the unikernel file at path for reading. Anything but
// a regular file (or a symbolic link to one) is refused with an error
// wrapping ErrConfig that says what it is, and without blocking: a plain
// open of a FIFO waits for a writer, and a directory or a device would
// only fail later as an odd ELF.
//
// New uses it for Config.Kernel; tools that inspect a unikernel before
// running it (Inspect, FeatureRequest) should open it with it too.
func OpenKernel(path string) (*os.File, error) {
	// Stat first so that nothing is opened that could have side effects
	// on open (a tape, a terminal); then open without blocking and check
	// the file actually opened, in case path changed in between.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot open unikernel: %w", ErrConfig, err)
	}
	if err := regularKernel(path, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot open unikernel: %w", ErrConfig, err)
	}
	if fi, err = f.Stat(); err == nil {
		err = regularKernel(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func regularKernel(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	var what string
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%w: unikernel %s is a directory", ErrConfig, path)
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	default:
		what = "of type " + m.Type().String()
	}
	return fmt.Errorf("%w: unikernel %s is %s, not a regular file", ErrConfig, path, what)
}
