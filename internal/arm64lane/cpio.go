package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/unimon/unimon/internal/arm64lane/laneproto"
)

// cpioWriter writes an initramfs in the "newc" cpio format, which is what
// the Linux kernel unpacks. Writing it here rather than with cpio(1) lets
// the lane add /dev/console as a device node without being root and keeps
// the archive uncompressed: the kernel would otherwise spend seconds of
// emulated CPU decompressing it.
type cpioWriter struct {
	w   *bufio.Writer
	ino uint32
	off int64
	err error
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), ino: 1}
}

// Mode bits from <sys/stat.h>; cpio stores them verbatim.
const (
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFCHR = 0o020000
)

func (c *cpioWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.off += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) {
	nlink := uint32(1)
	if mode&sIFDIR != 0 {
		nlink = 2
	}
	// Fields: ino mode uid gid nlink mtime filesize devmajor devminor
	// rdevmajor rdevminor namesize check; the name includes its NUL.
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.ino++
	c.write([]byte(hdr))
	c.write(append([]byte(name), 0))
	c.pad()
}

// Dir adds a directory.
func (c *cpioWriter) Dir(name string) {
	c.header(name, sIFDIR|0o755, 0, 0, 0)
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, major, minor uint32) {
	c.header(name, sIFCHR|0o600, 0, major, minor)
}

// Bytes adds a regular file with the given contents.
func (c *cpioWriter) Bytes(name string, perm uint32, data []byte) {
	c.header(name, sIFREG|perm, int64(len(data)), 0, 0)
	c.write(data)
	c.pad()
}

// File adds the host file src as name.
func (c *cpioWriter) File(name string, perm uint32, src string) {
	if c.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		c.err = err
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		c.err = err
		return
	}
	c.header(name, sIFREG|perm, st.Size(), 0, 0)
	if c.err != nil {
		return
	}
	n, err := io.Copy(c.w, f)
	c.off += n
	if err == nil && n != st.Size() {
		err = fmt.Errorf("%s changed size while archiving", src)
	}
	c.err = err
	c.pad()
}

// Close writes the trailer and flushes.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}

// buildInitramfs writes an archive holding /init, the lane configuration,
// the unimon command (as laneproto.CLIPath), the test binaries (as
// /tests/<name>) and the files of an Exec run (archive name → host path,
// under laneproto.FilesDir).
func buildInitramfs(out, initBin, cli string, config []byte, tests []string, files map[string]string) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("creating initramfs: %w", err)
	}
	c := newCPIOWriter(f)
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "tests", strings.TrimPrefix(laneproto.FilesDir, "/")} {
		c.Dir(d)
	}
	// The kernel opens /dev/console for init's stdio before devtmpfs is
	// mounted, so the node must be in the archive itself.
	c.CharDev("dev/console", 5, 1)
	c.File("init", 0o755, initBin)
	c.Bytes(strings.TrimPrefix(laneproto.ConfigPath, "/"), 0o644, config)
	c.File(strings.TrimPrefix(laneproto.CLIPath, "/"), 0o755, cli)
	for _, t := range tests {
		c.File(strings.TrimPrefix(laneproto.TestsDir, "/")+"/"+path.Base(t), 0o755, t)
	}
	made := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		// Directories below FilesDir (GoGuestsDir) come before their files.
		if d := path.Dir(strings.TrimPrefix(name, "/")); d != strings.TrimPrefix(laneproto.FilesDir, "/") && !made[d] {
			c.Dir(d)
			made[d] = true
		}
		c.File(strings.TrimPrefix(name, "/"), 0o644, files[name])
	}
	err = c.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing initramfs %s: %w", out, err)
	}
	return nil
}
