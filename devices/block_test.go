package devices

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// tempDisk creates a file of size bytes holding a known pattern.
func tempDisk(t *testing.T, size int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sectorPattern(sector int, size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(sector*31 + i)
	}
	return p
}

func TestOpenBlockFileRoundTrip(t *testing.T) {
	checkNoFDLeak(t)
	for _, tc := range []struct {
		name       string
		sector     uint16
		wantSector uint16
	}{
		{"default", 0, 512},
		{"512", 512, 512},
		{"4096", 4096, 4096},
		{"32768", 32768, 32768},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const sectors = 8
			size := int(tc.wantSector) * sectors
			path := tempDisk(t, size)
			b, err := OpenBlockFile(path, BlockOptions{SectorSize: tc.sector})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Capacity() != uint64(size) || b.BlockSize() != tc.wantSector || b.ReadOnly() || b.Path() != path {
				t.Fatalf("got capacity %d block %d ro %v path %q, want %d %d false %q",
					b.Capacity(), b.BlockSize(), b.ReadOnly(), b.Path(), size, tc.wantSector, path)
			}
			bs := int(tc.wantSector)
			// Write sectors in reverse order, read them back in order.
			for s := sectors - 1; s >= 0; s-- {
				if n, err := b.WriteAt(sectorPattern(s, bs), int64(s*bs)); err != nil || n != bs {
					t.Fatalf("WriteAt sector %d: %d, %v", s, n, err)
				}
			}
			buf := make([]byte, bs)
			for s := 0; s < sectors; s++ {
				if n, err := b.ReadAt(buf, int64(s*bs)); err != nil || n != bs {
					t.Fatalf("ReadAt sector %d: %d, %v", s, n, err)
				}
				if !bytes.Equal(buf, sectorPattern(s, bs)) {
					t.Fatalf("sector %d read back wrong", s)
				}
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			// The data is in the file, not only in the device.
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != size {
				t.Fatalf("file size changed to %d", len(got))
			}
			for s := 0; s < sectors; s++ {
				if !bytes.Equal(got[s*bs:(s+1)*bs], sectorPattern(s, bs)) {
					t.Fatalf("file sector %d wrong", s)
				}
			}
		})
	}
}

func TestOpenBlockFileGeometry(t *testing.T) {
	checkNoFDLeak(t)
	for _, tc := range []struct {
		name    string
		size    int
		sector  uint16
		wantErr error
		wantMsg string
	}{
		{"aligned", 1024, 512, nil, ""},
		{"one block", 512, 0, nil, ""},
		{"unaligned", 1000, 512, ErrUnaligned, "Backing storage size must be block aligned"},
		{"unaligned 4096", 4096 + 512, 4096, ErrUnaligned, "Backing storage size must be block aligned"},
		{"empty", 0, 512, ErrTooSmall, "smaller than one block"},
		{"less than a block", 256, 512, ErrTooSmall, "smaller than one block"},
		{"less than a big block", 4096, 8192, ErrTooSmall, "smaller than one block"},
		{"sector not power of two", 3000, 1000, ErrSectorSize, "power of two"},
		{"sector too small", 1024, 256, ErrSectorSize, "power of two >= 512"},
		{"sector 1", 1024, 1, ErrSectorSize, "power of two"},
		{"sector odd", 1024, 513, ErrSectorSize, "power of two"},
		{"sector max", 65536, 32768, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tempDisk(t, tc.size)
			b, err := OpenBlockFile(path, BlockOptions{SectorSize: tc.sector})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				b.Close()
				return
			}
			if err == nil {
				b.Close()
				t.Fatalf("no error, want %v", tc.wantErr)
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q: want %v, text %q and the path", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
}

func TestOpenBlockFileBadFiles(t *testing.T) {
	checkNoFDLeak(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		wantErr error
		wantMsg string
	}{
		{"missing", filepath.Join(dir, "nope.img"), fs.ErrNotExist, "does not exist"},
		{"directory", dir, nil, "is a directory"},
		{"fifo", fifo, nil, "cannot back a block device"},
		{"char device", "/dev/null", nil, "cannot back a block device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ro := range []bool{false, true} {
				b, err := OpenBlockFile(tc.path, BlockOptions{ReadOnly: ro})
				if err == nil {
					b.Close()
					t.Fatalf("read-only %v: no error", ro)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("read-only %v: %v is not %v", ro, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), tc.path) {
					t.Errorf("read-only %v: error %q should say %q and name the path", ro, err, tc.wantMsg)
				}
			}
		})
	}
}

// Root ignores file permissions, so the permission message is checked on
// the error classifier itself.
func TestOpenErrorPermission(t *testing.T) {
	perr := &fs.PathError{Op: "open", Path: "/x.img", Err: syscall.EACCES}
	for _, tc := range []struct {
		readOnly bool
		want     string
	}{
		{false, "no read-write access"},
		{true, "no read access"},
	} {
		err := openError("/x.img", tc.readOnly, perr)
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "/x.img") {
			t.Errorf("read-only %v: %q", tc.readOnly, err)
		}
	}
}

// TestOpenBlockFilePermission is the real thing, for non-root runs.
func TestOpenBlockFilePermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses file permissions; TestOpenErrorPermission covers the message")
	}
	checkNoFDLeak(t)
	path := tempDisk(t, 1024)
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if b, err := OpenBlockFile(path, BlockOptions{}); err == nil {
		b.Close()
		t.Fatal("read-write open of a 0400 file succeeded")
	} else if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "no read-write access") {
		t.Fatalf("error %q", err)
	}
	b, err := OpenBlockFile(path, BlockOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a 0400 file: %v", err)
	}
	b.Close()
}

func TestOpenBlockFileReadOnly(t *testing.T) {
	checkNoFDLeak(t)
	path := tempDisk(t, 2048)
	orig, _ := os.ReadFile(path)
	b, err := OpenBlockFile(path, BlockOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	// The descriptor itself is read-only and close-on-exec.
	fd := int(b.f.Fd())
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("F_GETFL = %#x, %v; want O_RDONLY", fl, err)
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD = %#x, %v; want FD_CLOEXEC", fl, err)
	}
	if _, err := b.WriteAt(make([]byte, 512), 0); !errors.Is(err, ErrReadOnly) {
		t.Errorf("WriteAt on read-only device: %v, want ErrReadOnly", err)
	}
	buf := make([]byte, 512)
	if _, err := b.ReadAt(buf, 512); err != nil || !bytes.Equal(buf, orig[512:1024]) {
		t.Errorf("ReadAt: %v", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, orig) {
		t.Error("file changed")
	}
}

func TestOpenBlockFileReadWriteIsCloexec(t *testing.T) {
	checkNoFDLeak(t)
	b, err := OpenBlockFile(tempDisk(t, 512), BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fd := uintptr(b.f.Fd())
	if fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0); err != nil || fl&unix.O_ACCMODE != unix.O_RDWR {
		t.Errorf("F_GETFL = %#x, %v; want O_RDWR", fl, err)
	}
	if fl, err := unix.FcntlInt(fd, unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD = %#x, %v; want FD_CLOEXEC", fl, err)
	}
}

// rangeCases are accesses outside a device of capacity bytes.
func rangeCases(capacity int64) []struct {
	name string
	n    int
	off  int64
} {
	return []struct {
		name string
		n    int
		off  int64
	}{
		{"negative offset", 512, -512},
		{"at capacity", 512, capacity},
		{"straddles end", 1024, capacity - 512},
		{"far past end", 512, 1 << 40},
		{"huge offset", 512, 1<<63 - 1},
	}
}

func TestFileBlockOutOfRange(t *testing.T) {
	checkNoFDLeak(t)
	path := tempDisk(t, 2048)
	b, err := OpenBlockFile(path, BlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tc := range rangeCases(2048) {
		p := make([]byte, tc.n)
		if _, err := b.ReadAt(p, tc.off); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: ReadAt: %v, want ErrOutOfRange", tc.name, err)
		}
		if _, err := b.WriteAt(p, tc.off); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: WriteAt: %v, want ErrOutOfRange", tc.name, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 2048 {
		t.Errorf("backing file grew: %v %v", fi.Size(), err)
	}
}

// memDisk is a byte slice with ReadAt, WriteAt and a counting Close.
type memDisk struct {
	data   []byte
	closes int
}

func (m *memDisk) ReadAt(p []byte, off int64) (int, error) {
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memDisk) WriteAt(p []byte, off int64) (int, error) {
	return copy(m.data[off:], p), nil
}

func (m *memDisk) Close() error { m.closes++; return nil }

// sliceReader is a non-comparable closer: comparing two of them with ==
// would panic, which NewBlock's Close must avoid.
type sliceReader struct {
	data   []byte
	closed *int
}

func (s sliceReader) ReadAt(p []byte, off int64) (int, error) { return copy(p, s.data[off:]), nil }
func (s sliceReader) WriteAt(p []byte, off int64) (int, error) {
	return copy(s.data[off:], p), nil
}
func (s sliceReader) Close() error { *s.closed++; return nil }

// shortReader returns less than asked, without an error.
type shortReader struct{}

func (shortReader) ReadAt(p []byte, off int64) (int, error) { return len(p) / 2, nil }

func TestNewBlockRoundTrip(t *testing.T) {
	m := &memDisk{data: make([]byte, 4*4096)}
	b, err := NewBlock(m, m, uint64(len(m.data)), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if b.Capacity() != 4*4096 || b.BlockSize() != 4096 {
		t.Fatalf("capacity %d block %d", b.Capacity(), b.BlockSize())
	}
	for s := 0; s < 4; s++ {
		if _, err := b.WriteAt(sectorPattern(s, 4096), int64(s*4096)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	for s := 0; s < 4; s++ {
		if _, err := b.ReadAt(buf, int64(s*4096)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, sectorPattern(s, 4096)) || !bytes.Equal(m.data[s*4096:(s+1)*4096], buf) {
			t.Fatalf("sector %d wrong", s)
		}
	}
	for _, tc := range rangeCases(4 * 4096) {
		if _, err := b.ReadAt(make([]byte, tc.n), tc.off); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: ReadAt: %v, want ErrOutOfRange", tc.name, err)
		}
		if _, err := b.WriteAt(make([]byte, tc.n), tc.off); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%s: WriteAt: %v, want ErrOutOfRange", tc.name, err)
		}
	}
	// The same value as reader and writer is closed once.
	if err := b.Close(); err != nil || m.closes != 1 {
		t.Fatalf("Close: %v, %d closes", err, m.closes)
	}
	if err := b.Close(); err != nil || m.closes != 1 {
		t.Fatalf("second Close: %v, %d closes", err, m.closes)
	}
	if _, err := b.ReadAt(buf, 0); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("ReadAt after Close: %v", err)
	}
	if _, err := b.WriteAt(buf, 0); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("WriteAt after Close: %v", err)
	}
}

func TestNewBlockReadOnly(t *testing.T) {
	data := bytes.Repeat([]byte{0xab}, 1024)
	// bytes.Reader returns io.EOF with the last full block: not an error.
	b, err := NewBlock(bytes.NewReader(data), nil, 1024, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.BlockSize() != 512 {
		t.Errorf("BlockSize %d, want the 512 default", b.BlockSize())
	}
	buf := make([]byte, 512)
	if n, err := b.ReadAt(buf, 512); err != nil || n != 512 || !bytes.Equal(buf, data[:512]) {
		t.Errorf("ReadAt last block: %d, %v", n, err)
	}
	if _, err := b.WriteAt(buf, 0); !errors.Is(err, ErrReadOnly) {
		t.Errorf("WriteAt: %v, want ErrReadOnly", err)
	}
}

func TestNewBlockErrors(t *testing.T) {
	m := &memDisk{data: make([]byte, 4096)}
	for _, tc := range []struct {
		name     string
		r        io.ReaderAt
		capacity uint64
		sector   uint16
		want     error
		wantMsg  string
	}{
		{"nil reader", nil, 4096, 512, nil, "non-nil io.ReaderAt"},
		{"unaligned", m, 4000, 512, ErrUnaligned, "Backing storage size must be block aligned"},
		{"too small", m, 0, 512, ErrTooSmall, ""},
		{"bad sector", m, 4096, 768, ErrSectorSize, ""},
		{"beyond int64", m, 1 << 63, 512, ErrOutOfRange, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBlock(tc.r, nil, tc.capacity, tc.sector)
			if err == nil {
				b.Close()
				t.Fatal("no error")
			}
			if (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q, want %v %q", err, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestNewBlockShortRead(t *testing.T) {
	b, err := NewBlock(shortReader{}, nil, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.ReadAt(make([]byte, 512), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short read: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestNewBlockCloseNonComparable(t *testing.T) {
	var rc, wc int
	r := sliceReader{data: make([]byte, 1024), closed: &rc}
	w := sliceReader{data: r.data, closed: &wc}
	b, err := NewBlock(r, w, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Not comparable, so not known to be the same value: both closed.
	if rc != 1 || wc != 1 {
		t.Errorf("closes: reader %d writer %d, want 1 and 1", rc, wc)
	}
}

func TestNewBlockOverFile(t *testing.T) {
	checkNoFDLeak(t)
	path := tempDisk(t, 1024)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBlock(f, f, 1024, 512)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	if _, err := b.WriteAt(sectorPattern(1, 512), 512); err != nil {
		t.Fatal(err)
	}
	// One *os.File as both: closed once, so Close reports no
	// "file already closed" error.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got[512:], sectorPattern(1, 512)) {
		t.Error("write did not reach the file")
	}
}
