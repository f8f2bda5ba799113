package devices

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sync"
	"syscall"
)

// DefaultSectorSize is the block size used when none is given, as in
// solo5-hvt without --block-sector-size.
const DefaultSectorSize = 512

// Sentinel errors for block device geometry, so callers (the CLI, an
// embedder) can tell configuration mistakes apart with errors.Is.
var (
	// ErrSectorSize reports a sector size that is not a power of two
	// of at least 512.
	ErrSectorSize = errors.New("sector size must be a power of two >= 512")
	// ErrUnaligned reports a capacity that is not a multiple of the
	// sector size. Its text is upstream solo5-hvt's message.
	ErrUnaligned = errors.New("Backing storage size must be block aligned")
	// ErrTooSmall reports a capacity smaller than one sector.
	ErrTooSmall = errors.New("backing storage is smaller than one block")
	// ErrOutOfRange reports a ReadAt or WriteAt that does not lie inside
	// [0, Capacity()).
	ErrOutOfRange = errors.New("access outside the block device")
)

// BlockOptions configures OpenBlockFile.
type BlockOptions struct {
	// SectorSize is the block size in bytes; 0 means DefaultSectorSize.
	SectorSize uint16
	// ReadOnly opens the file O_RDONLY; WriteAt then fails with
	// ErrReadOnly.
	ReadOnly bool
}

// checkGeometry applies solo5-hvt's setup rules to a device. sectorSize 0
// has already been replaced by the default.
func checkGeometry(capacity uint64, sectorSize uint16) error {
	if err := checkSectorSize(sectorSize); err != nil {
		return err
	}
	if capacity < uint64(sectorSize) {
		return fmt.Errorf("size %d bytes, sector size %d: %w", capacity, sectorSize, ErrTooSmall)
	}
	if capacity%uint64(sectorSize) != 0 {
		return fmt.Errorf("%w (size %d bytes is not a multiple of sector size %d)", ErrUnaligned, capacity, sectorSize)
	}
	return nil
}

// checkSectorSize accepts powers of two from 512 up; uint16 caps them at
// 32768.
func checkSectorSize(sectorSize uint16) error {
	if sectorSize < DefaultSectorSize || sectorSize&(sectorSize-1) != 0 {
		return fmt.Errorf("sector size %d: %w", sectorSize, ErrSectorSize)
	}
	return nil
}

// checkRange rejects accesses that leave the device. The monitor checks
// guest requests itself; this second check is what keeps a WriteAt past
// the end from silently growing a backing file, whoever the caller is.
func checkRange(op string, n int, off int64, capacity uint64) error {
	if off < 0 || uint64(off) > capacity || uint64(n) > capacity-uint64(off) {
		return fmt.Errorf("%s of %d bytes at offset %d (capacity %d): %w", op, n, off, capacity, ErrOutOfRange)
	}
	return nil
}

// FileBlock is a Block backed by a regular file or a Linux block device.
// Its methods are safe for concurrent use: reads and writes are
// pread(2)/pwrite(2) at explicit offsets.
type FileBlock struct {
	f          *os.File
	path       string
	capacity   uint64
	sectorSize uint16
	readOnly   bool

	closeOnce sync.Once
	closeErr  error
}

var _ Block = (*FileBlock)(nil)

// OpenBlockFile opens path as a block device the way solo5-hvt's
// --block option does: read-write (or read-only with opts.ReadOnly),
// capacity = the size found by seeking to the end. The sector size must
// be a power of two >= 512 (else ErrSectorSize) and the capacity a
// non-zero multiple of it (else ErrTooSmall or ErrUnaligned). Path must
// be a regular file or a block device. Every error names the file.
func OpenBlockFile(path string, opts BlockOptions) (*FileBlock, error) {
	sector := opts.SectorSize
	if sector == 0 {
		sector = DefaultSectorSize
	}
	// Fail on the sector size before touching the file: it is a
	// command-line mistake, not a property of the file.
	if err := checkSectorSize(sector); err != nil {
		return nil, fmt.Errorf("block %s: %w", path, err)
	}
	// Stat first so a FIFO is refused before open(2) could block on it
	// and a directory gets a clear message; the type is checked again on
	// the open file below, which is the check that counts.
	if fi, err := os.Stat(path); err != nil {
		return nil, openError(path, opts.ReadOnly, err)
	} else if err := checkFileType(fi); err != nil {
		return nil, fmt.Errorf("block %s: %w", path, err)
	}
	flag := os.O_RDWR
	if opts.ReadOnly {
		flag = os.O_RDONLY
	}
	// os.OpenFile always adds O_CLOEXEC, so a guest's backing file never
	// leaks into processes the embedder starts.
	f, err := os.OpenFile(path, flag|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(path, opts.ReadOnly, err)
	}
	b, err := newFileBlock(f, path, sector, opts.ReadOnly)
	if err != nil {
		f.Close()
		return nil, err
	}
	return b, nil
}

func newFileBlock(f *os.File, path string, sector uint16, readOnly bool) (*FileBlock, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", path, err)
	}
	if err := checkFileType(fi); err != nil {
		return nil, fmt.Errorf("block %s: %w", path, err)
	}
	// Seeking to the end, not Stat's size, is what gives the size of a
	// block device special file, as upstream's lseek(SEEK_END) does.
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("block %s: finding size: %w", path, err)
	}
	capacity := uint64(end)
	if err := checkGeometry(capacity, sector); err != nil {
		return nil, fmt.Errorf("block %s: %w", path, err)
	}
	return &FileBlock{f: f, path: path, capacity: capacity, sectorSize: sector, readOnly: readOnly}, nil
}

// checkFileType accepts what can back a disk: regular files and block
// devices. Directories, FIFOs, sockets and character devices have no
// stable size to seek to.
func checkFileType(fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsDir():
		return errors.New("is a directory, not a disk image")
	case m.IsRegular(), m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		return nil
	default:
		return fmt.Errorf("file type %v cannot back a block device (need a regular file or block device)", m.Type())
	}
}

// openError turns the common open failures into messages that say what
// to do, keeping the cause for errors.Is.
func openError(path string, readOnly bool, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("block %s: backing file does not exist: %w", path, err)
	case errors.Is(err, fs.ErrPermission):
		access := "read-write"
		if readOnly {
			access = "read"
		}
		return fmt.Errorf("block %s: no %s access to backing file: %w", path, access, err)
	case errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("block %s: is a directory, not a disk image: %w", path, err)
	default:
		return fmt.Errorf("block %s: %w", path, err)
	}
}

// ReadAt reads len(p) bytes at off. A read that does not fit inside the
// device fails with ErrOutOfRange.
func (b *FileBlock) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange("read", len(p), off, b.capacity); err != nil {
		return 0, fmt.Errorf("block %s: %w", b.path, err)
	}
	n, err := b.f.ReadAt(p, off)
	if err != nil {
		// io.EOF here means the file shrank under us: report it, the
		// guest must not see stale buffer contents as data.
		return n, fmt.Errorf("block %s: read at %d: %w", b.path, off, err)
	}
	return n, nil
}

// WriteAt writes len(p) bytes at off. It fails with ErrReadOnly on a
// read-only device and with ErrOutOfRange outside the device.
func (b *FileBlock) WriteAt(p []byte, off int64) (int, error) {
	if b.readOnly {
		return 0, fmt.Errorf("block %s: %w", b.path, ErrReadOnly)
	}
	if err := checkRange("write", len(p), off, b.capacity); err != nil {
		return 0, fmt.Errorf("block %s: %w", b.path, err)
	}
	n, err := b.f.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("block %s: write at %d: %w", b.path, off, err)
	}
	return n, nil
}

// Capacity is the device size in bytes, fixed when the file was opened.
func (b *FileBlock) Capacity() uint64 { return b.capacity }

// BlockSize is the sector size.
func (b *FileBlock) BlockSize() uint16 { return b.sectorSize }

// ReadOnly reports whether the device was opened read-only.
func (b *FileBlock) ReadOnly() bool { return b.readOnly }

// Path is the name the device was opened with.
func (b *FileBlock) Path() string { return b.path }

// Close closes the file. Later calls return the first call's result, so
// a deferred Close after an explicit one is harmless.
func (b *FileBlock) Close() error {
	b.closeOnce.Do(func() {
		if err := b.f.Close(); err != nil {
			b.closeErr = fmt.Errorf("block %s: %w", b.path, err)
		}
	})
	return b.closeErr
}

// readerBlock is the Block NewBlock returns.
type readerBlock struct {
	r          io.ReaderAt
	w          io.WriterAt
	capacity   uint64
	sectorSize uint16

	mu       sync.RWMutex // excludes Close from in-flight I/O
	closed   bool
	closeErr error
}

// NewBlock makes a Block of capacity bytes from r and w, for embedders
// whose disk is not a file (memory, a network store, an overlay). w nil
// makes the device read-only: WriteAt then fails with ErrReadOnly.
// sectorSize 0 means DefaultSectorSize; the geometry rules are those of
// OpenBlockFile. Accesses outside [0, capacity) fail with ErrOutOfRange
// before r or w see them.
//
// The Block takes ownership: Close closes r if it implements io.Closer,
// and w if it implements io.Closer and is not the same value as r (so a
// single *os.File passed as both is closed once). Values that are not
// closers are left alone. After Close, ReadAt and WriteAt fail with
// fs.ErrClosed.
func NewBlock(r io.ReaderAt, w io.WriterAt, capacity uint64, sectorSize uint16) (Block, error) {
	if r == nil {
		return nil, errors.New("block: NewBlock needs a non-nil io.ReaderAt")
	}
	if sectorSize == 0 {
		sectorSize = DefaultSectorSize
	}
	if err := checkGeometry(capacity, sectorSize); err != nil {
		return nil, fmt.Errorf("block: %w", err)
	}
	// An int64 offset must reach every byte.
	if capacity > 1<<63-1 {
		return nil, fmt.Errorf("block: capacity %d does not fit an int64 offset: %w", capacity, ErrOutOfRange)
	}
	return &readerBlock{r: r, w: w, capacity: capacity, sectorSize: sectorSize}, nil
}

func (b *readerBlock) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange("read", len(p), off, b.capacity); err != nil {
		return 0, fmt.Errorf("block: %w", err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, fmt.Errorf("block: read: %w", fs.ErrClosed)
	}
	n, err := b.r.ReadAt(p, off)
	// io.ReaderAt may report io.EOF together with a full read at the
	// end of its data; that is a complete block, not an error.
	if n == len(p) {
		return n, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return n, fmt.Errorf("block: read at %d: %w", off, err)
}

func (b *readerBlock) WriteAt(p []byte, off int64) (int, error) {
	if b.w == nil {
		return 0, fmt.Errorf("block: %w", ErrReadOnly)
	}
	if err := checkRange("write", len(p), off, b.capacity); err != nil {
		return 0, fmt.Errorf("block: %w", err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, fmt.Errorf("block: write: %w", fs.ErrClosed)
	}
	n, err := b.w.WriteAt(p, off)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return n, fmt.Errorf("block: write at %d: %w", off, err)
	}
	return n, nil
}

func (b *readerBlock) Capacity() uint64  { return b.capacity }
func (b *readerBlock) BlockSize() uint16 { return b.sectorSize }

func (b *readerBlock) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.closeErr
	}
	b.closed = true
	var errs []error
	if c, ok := b.r.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if c, ok := b.w.(io.Closer); ok && !sameValue(b.r, b.w) {
		errs = append(errs, c.Close())
	}
	if err := errors.Join(errs...); err != nil {
		b.closeErr = fmt.Errorf("block: close: %w", err)
	}
	return b.closeErr
}

// sameValue reports whether a and b hold the same comparable value.
// Comparing interfaces with == panics when the dynamic type is not
// comparable, so reflect checks that first.
func sameValue(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() || va.Type() != vb.Type() {
		return false
	}
	if !va.Comparable() || !vb.Comparable() {
		return false
	}
	return va.Equal(vb)
}
