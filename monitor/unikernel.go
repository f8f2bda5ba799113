package monitor

import (
	"bytes"
	"fmt"
	"io"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/elfload"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Unikernel is a unikernel ELF whose header, program headers and notes
// were read and checked once. Give it to New (Config.Unikernel) to boot
// it without parsing it again, as many times as wanted: each New reads
// only the segments, straight from the file into the new guest's memory.
// A Unikernel may be used by several goroutines at once; Close it when
// no New is using it any more.
type Unikernel struct {
	name   string
	file   *elfload.File
	closer io.Closer   // the open file, for OpenUnikernel
	notes  Description // Arch unset: the host's, checked by Parse
}

// OpenUnikernel opens the unikernel file at path (as OpenKernel does) and
// checks its header and notes. Errors about the file's contents wrap
// ErrKernel and start with path.
func OpenUnikernel(path string) (*Unikernel, error) {
	f, err := OpenKernel(path)
	if err != nil {
		return nil, err
	}
	// Nothing larger than guest memory can be loaded anyway.
	fi, err := f.Stat()
	if err == nil && fi.Size() > guestmem.MaxSize {
		err = fmt.Errorf("%w: unikernel %s is %d bytes, more than the largest guest memory", ErrConfig, path, fi.Size())
	}
	var u *Unikernel
	if err == nil {
		u, err = parseUnikernel(f, path, f)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return u, nil
}

// NewUnikernel checks the header and notes of the unikernel ELF image,
// which must not change while the Unikernel is in use. Errors about its
// contents wrap ErrKernel.
func NewUnikernel(image []byte) (*Unikernel, error) {
	return parseUnikernel(bytes.NewReader(image), "unikernel", nil)
}

func parseUnikernel(r io.ReaderAt, name string, closer io.Closer) (*Unikernel, error) {
	u := &Unikernel{name: name, closer: closer}
	var err error
	if u.file, err = elfload.Parse(r, hostArch.machine()); err == nil {
		u.notes, err = describe(u.file)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrKernel, err)
	}
	return u, nil
}

// ABI returns the unikernel's Solo5 ABI note.
func (u *Unikernel) ABI() guestabi.ABIInfo { return u.notes.ABI }

// Manifest returns a copy of the unikernel's manifest, as declared.
func (u *Unikernel) Manifest() *guestabi.Manifest { return u.notes.Manifest.Clone() }

// FeatureRequest returns the guestabi.Request* bits of the unikernel's
// feature note (0 for upstream unikernels, which have none).
func (u *Unikernel) FeatureRequest() uint32 { return u.notes.Requests }

// Close closes the file OpenUnikernel opened; it does nothing for a
// NewUnikernel.
func (u *Unikernel) Close() error {
	if u.closer == nil {
		return nil
	}
	err := u.closer.Close()
	u.closer = nil
	return err
}

// unikernel returns the Config's unikernel, parsed once; done releases
// what it opened for New alone.
func unikernel(cfg Config) (u *Unikernel, done func(), err error) {
	set := 0
	for _, ok := range []bool{cfg.Kernel != "", cfg.KernelImage != nil, cfg.Unikernel != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set > 1:
		return nil, nil, fmt.Errorf("%w: set one of Kernel, KernelImage and Unikernel", ErrConfig)
	case cfg.Unikernel != nil:
		return cfg.Unikernel, func() {}, nil
	case cfg.KernelImage != nil:
		u, err = NewUnikernel(cfg.KernelImage)
	case cfg.Kernel == "":
		return nil, nil, fmt.Errorf("%w: no unikernel: set Kernel, KernelImage or Unikernel", ErrConfig)
	default:
		u, err = OpenUnikernel(cfg.Kernel)
	}
	if err != nil {
		return nil, nil, err
	}
	return u, func() { u.Close() }, nil
}
