// Package coredump writes a guest's memory and registers as an ELF core
// file that gdb reads together with the unikernel ELF, in the layout of
// upstream Solo5's dumpcore module: an ELF header with e_type ET_CORE, one
// PT_NOTE holding NT_PRSTATUS notes named "CORE", and PT_LOAD segments
// holding memory.
//
// Unlike upstream, which dumps guest-physical memory as one segment at
// address 0, the segments here are the guest's virtual mappings (found by
// walking its page tables), so that a Go unikernel's stacks and heap,
// mapped far above guest-physical memory, are where gdb looks for them.
// For a Solo5 C unikernel, identity mapped, this is the same picture.
// EI_OSABI is ELFOSABI_NONE where upstream has STANDALONE, which current
// gdb refuses.
//
// Files are sparse: pages the host never allocated (mincore) or that
// hold only zeroes are holes, so a 512 MiB guest that touched 2 MiB
// costs about 2 MiB of disk.
package coredump

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/monitor/guestmem"
)

// ErrDir is returned (wrapped) by CheckDir and Create for a directory
// that does not exist, is not a directory or cannot be written.
var ErrDir = errors.New("core dump directory unusable")

// Note is one ELF note of the core's PT_NOTE segment.
type Note struct {
	Name string // "CORE" for NT_PRSTATUS
	Type elf.NType
	Desc []byte
}

// Segment is one run of guest virtual memory. Data is the host memory
// that backs it (a slice of the guest's mapping, so mincore can tell
// which pages exist).
type Segment struct {
	VA       uint64
	Data     []byte
	Writable bool
}

// Core is what a core file holds.
type Core struct {
	Machine  elf.Machine
	Notes    []Note
	Segments []Segment
}

// Stats tells what a Write wrote.
type Stats struct {
	Pages   uint64 // pages of memory described
	Written uint64 // pages written; the others are holes
}

// CheckDir refuses a directory a core could not be written to, so the
// guest does not run only for its core to be lost.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrDir, dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("%w: %s is not writable: %w", ErrDir, dir, err)
	}
	return nil
}

// Create makes a new core file in dir named core.unimon.PID.N, with the
// first N that does not exist yet: several VMs of one process, or several
// runs, never overwrite each other's cores.
func Create(dir string) (*os.File, error) {
	pid := os.Getpid()
	for n := 1; n < 1<<16; n++ {
		name := filepath.Join(dir, fmt.Sprintf("core.unimon.%d.%d", pid, n))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDir, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%w: %s holds too many cores of process %d", ErrDir, dir, pid)
}

const (
	ehdrSize = 64
	phdrSize = 56
	pageSize = 4096
)

// Write writes c to f, which must be empty.
func Write(f *os.File, c Core) (Stats, error) {
	var st Stats
	le := binary.LittleEndian
	var notes bytes.Buffer
	for _, n := range c.Notes {
		var h [12]byte
		le.PutUint32(h[0:], uint32(len(n.Name)+1))
		le.PutUint32(h[4:], uint32(len(n.Desc)))
		le.PutUint32(h[8:], uint32(n.Type))
		notes.Write(h[:])
		notes.WriteString(n.Name)
		notes.Write(make([]byte, pad4(len(n.Name)+1)-len(n.Name))) // NUL and padding
		notes.Write(n.Desc)
		notes.Write(make([]byte, pad4(len(n.Desc))-len(n.Desc)))
	}
	phnum := 1 + len(c.Segments)
	if phnum > 0xffff {
		return st, fmt.Errorf("core: %d segments, more than ELF allows", len(c.Segments))
	}
	hdr := make([]byte, ehdrSize+phnum*phdrSize)
	copy(hdr, elf.ELFMAG)
	hdr[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	// EI_OSABI stays ELFOSABI_NONE: upstream writes STANDALONE (255),
	// which the gdb of Debian 12 refuses as "file format not recognized".
	le.PutUint16(hdr[16:], uint16(elf.ET_CORE))
	le.PutUint16(hdr[18:], uint16(c.Machine))
	le.PutUint32(hdr[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(hdr[32:], ehdrSize) // e_phoff
	le.PutUint16(hdr[52:], ehdrSize)
	le.PutUint16(hdr[54:], phdrSize)
	le.PutUint16(hdr[56:], uint16(phnum))

	off := uint64(len(hdr))
	ph := func(i int, typ elf.ProgType, flags elf.ProgFlag, offset, va, filesz, align uint64) {
		p := hdr[ehdrSize+i*phdrSize:]
		le.PutUint32(p[0:], uint32(typ))
		le.PutUint32(p[4:], uint32(flags))
		le.PutUint64(p[8:], offset)
		le.PutUint64(p[16:], va)
		le.PutUint64(p[24:], va) // p_paddr
		le.PutUint64(p[32:], filesz)
		le.PutUint64(p[40:], filesz)
		le.PutUint64(p[48:], align)
	}
	ph(0, elf.PT_NOTE, 0, off, 0, uint64(notes.Len()), 4)
	off += uint64(notes.Len())
	// Page-aligned segment data lets untouched pages be whole holes.
	off = (off + pageSize - 1) &^ (pageSize - 1)
	offsets := make([]uint64, len(c.Segments))
	for i, s := range c.Segments {
		flags := elf.PF_R | elf.PF_X
		if s.Writable {
			flags |= elf.PF_W
		}
		offsets[i] = off
		ph(1+i, elf.PT_LOAD, flags, off, s.VA, uint64(len(s.Data)), pageSize)
		off += (uint64(len(s.Data)) + pageSize - 1) &^ (pageSize - 1)
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return st, fmt.Errorf("core: writing headers: %w", err)
	}
	if _, err := f.WriteAt(notes.Bytes(), ehdrSize+int64(phnum)*phdrSize); err != nil {
		return st, fmt.Errorf("core: writing notes: %w", err)
	}
	for i, s := range c.Segments {
		n, w, err := writeSparse(f, s.Data, offsets[i])
		st.Pages += n
		st.Written += w
		if err != nil {
			return st, fmt.Errorf("core: segment at %#x: %w", s.VA, err)
		}
	}
	// The file ends where the last segment does, even when its last pages
	// are holes.
	if err := f.Truncate(int64(off)); err != nil {
		return st, fmt.Errorf("core: %w", err)
	}
	return st, nil
}

// writeSparse writes the pages of data the host has and that are not all
// zero at off; the others stay holes, which read back as zeroes.
func writeSparse(f *os.File, data []byte, off uint64) (pages, written uint64, err error) {
	if len(data) == 0 {
		return 0, 0, nil
	}
	n := (len(data) + pageSize - 1) / pageSize
	resident, err := guestmem.Resident(data)
	if err != nil || len(resident) != n {
		// Not a whole-page host mapping: look at every page.
		resident = slices.Repeat([]bool{true}, n)
	}
	for i := range resident {
		pages++
		if !resident[i] {
			continue
		}
		page := data[i*pageSize : min(len(data), (i+1)*pageSize)]
		if allZero(page) {
			continue
		}
		if _, err := f.WriteAt(page, int64(off)+int64(i)*pageSize); err != nil {
			return pages, written, err
		}
		written++
	}
	return pages, written, nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func pad4(n int) int { return (n + 3) &^ 3 }
