package elfload

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

const testMemSize = 4 << 20

func newMem(t testing.TB) *guestmem.Memory {
	t.Helper()
	mem, err := guestmem.New(testMemSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mem.Close(); err != nil {
			t.Error(err)
		}
	})
	return mem
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// hostPerms returns the permission column of /proc/self/maps for the
// mapping holding guest address gpa: that is where mprotect shows.
func hostPerms(t *testing.T, mem *guestmem.Memory, gpa uint64) string {
	t.Helper()
	b, err := mem.Bytes(gpa, 1)
	if err != nil {
		t.Fatal(err)
	}
	addr := uint64(uintptr(unsafe.Pointer(&b[0])))
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && start <= addr && addr < end {
			return fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("gpa %#x (host %#x) is in no mapping of /proc/self/maps", gpa, addr)
	return ""
}

func fill(t *testing.T, mem *guestmem.Memory, gpa, n uint64, v byte) {
	t.Helper()
	b, err := mem.Bytes(gpa, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = v
	}
}

func readMem(t *testing.T, mem *guestmem.Memory, gpa, n uint64) []byte {
	t.Helper()
	b, err := mem.Bytes(gpa, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadValid(t *testing.T) {
	fds := openFDs(t)
	mem := newMem(t)
	e := validELF()
	file := e.encode()

	// Poison what must come out zero, as reused memory would be.
	fill(t, mem, 0x102000, 0x2000, 0xaa) // data and its .bss tail, plus slack
	fill(t, mem, 0x104000, 0x3000, 0xbb) // memory-only .bss, plus slack

	img, err := Load(bytes.NewReader(file), MachineX86_64, mem)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := (Image{Entry: 0x100010, KernelEnd: 0x104000}); img != want {
		t.Errorf("image = %+v, want %+v", img, want)
	}

	for _, i := range []int{phText, phRodata, phData} {
		p := e.phdrs[i]
		if got := readMem(t, mem, p.vaddr, p.filesz); !bytes.Equal(got, p.data) {
			t.Errorf("phdr[%d] at %#x: got % x..., want % x...", i, p.vaddr, got[:8], p.data[:8])
		}
	}
	zero := func(gpa, n uint64, what string) {
		for i, v := range readMem(t, mem, gpa, n) {
			if v != 0 {
				t.Errorf("%s: byte at %#x is %#x, want 0", what, gpa+uint64(i), v)
				return
			}
		}
	}
	zero(0x102010, 0x1800-0x10, "p_memsz-p_filesz tail of data")
	zero(0x104000, 0x2345, "memory-only .bss")
	if got := readMem(t, mem, 0x103800, 1)[0]; got != 0xaa {
		t.Errorf("byte past data's p_memsz at 0x103800 = %#x, want untouched 0xaa", got)
	}
	if got := readMem(t, mem, 0x106345, 1)[0]; got != 0xbb {
		t.Errorf("byte past .bss at 0x106345 = %#x, want untouched 0xbb", got)
	}

	for _, c := range []struct {
		gpa  uint64
		want string
	}{
		{0xff000, "rw-p"},  // below the image: never touched
		{0x100000, "r--p"}, // text: PF_X became read-only
		{0x101000, "r--p"}, // rodata
		{0x102000, "rw-p"}, // data
		{0x103fff, "rw-p"}, // data's aligned end
		{0x104000, "rw-p"}, // .bss
		{0x3ff000, "rw-p"}, // top of memory
	} {
		if got := hostPerms(t, mem, c.gpa); got != c.want {
			t.Errorf("host protection of gpa %#x = %q, want %q", c.gpa, got, c.want)
		}
	}
	if got := openFDs(t); got != fds {
		t.Errorf("open fds: %d before, %d after", fds, got)
	}
}

func TestLoadAArch64(t *testing.T) {
	e := validELF()
	e.machine = elf.EM_AARCH64
	file := e.encode()
	img, err := Load(bytes.NewReader(file), MachineAArch64, newMem(t))
	if err != nil || img.Entry != 0x100010 {
		t.Fatalf("Load = %+v, %v", img, err)
	}
	if _, err := Load(bytes.NewReader(file), MachineX86_64, newMem(t)); err == nil || !strings.Contains(err.Error(), "e_machine is 183 (EM_AARCH64), want 62 (EM_X86_64)") {
		t.Errorf("aarch64 file as x86_64: %v", err)
	}
}

// An image whose only loadable segments are memory-only loads with
// KernelEnd 0, as upstream's e_end stays 0.
func TestLoadNoFileBackedSegment(t *testing.T) {
	e := validELF()
	e.phdrs[phText].typ = uint32(elf.PT_NULL)
	e.phdrs[phRodata].typ = uint32(elf.PT_NULL)
	e.phdrs[phData].typ = uint32(elf.PT_NULL)
	img, err := Load(bytes.NewReader(e.encode()), MachineX86_64, newMem(t))
	if err != nil || img != (Image{Entry: 0x100010}) {
		t.Fatalf("Load = %+v, %v", img, err)
	}
}

// Memory-only PT_LOADs are not checked (upstream skips them), so one that
// could not be zeroed is ignored, and one overlapping file-backed
// segments must not wipe their contents.
func TestLoadMemoryOnlySegments(t *testing.T) {
	for _, c := range []struct {
		name        string
		vaddr, size uint64
	}{
		{"below 0x100000", 0x1000, 0x2000},
		{"beyond memory", 0x300000, 0x200000},
		{"overflowing", 0x200000, ^uint64(0)},
		{"over the file-backed segments", 0x100000, 0x10000},
	} {
		t.Run(c.name, func(t *testing.T) {
			mem := newMem(t)
			fill(t, mem, 0x1000, 0x2000, 0xcc)
			e := validELF()
			e.phdrs[phBSS].vaddr, e.phdrs[phBSS].memsz, e.phdrs[phBSS].align = c.vaddr, c.size, 3
			if _, err := Load(bytes.NewReader(e.encode()), MachineX86_64, mem); err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := readMem(t, mem, 0x1000, 1)[0]; got != 0xcc {
				t.Errorf("low memory at 0x1000 = %#x, want untouched 0xcc", got)
			}
			if got := readMem(t, mem, 0x100000, 0x40); !bytes.Equal(got, e.phdrs[phText].data) {
				t.Errorf("text was clobbered: % x", got[:8])
			}
		})
	}
}

// errInvalid checks the shape every rejection of file contents must have.
func errInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	if !errors.Is(err, ErrInvalidELF) {
		t.Errorf("error %q does not wrap ErrInvalidELF", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is not one line", err)
	}
}

type loadCase struct {
	name  string
	edit  func(e *testELF)      // before encoding
	patch func(b []byte) []byte // after encoding
	want  string
}

func TestLoadErrors(t *testing.T) {
	const top = testMemSize
	cases := []loadCase{
		{name: "empty file", patch: func(b []byte) []byte { return nil }, want: "not an ELF file: the file is empty"},
		{name: "text file", patch: func(b []byte) []byte { return []byte("#!/bin/sh\necho hi\n") }, want: `not an ELF file: it starts with "#!/b" (e_ident[EI_MAG0..3]), want "\x7fELF"`},
		{name: "three bytes", patch: func(b []byte) []byte { return b[:3] }, want: `not an ELF file: it starts with "\x7fEL"`},
		{name: "truncated header", patch: func(b []byte) []byte { return b[:63] }, want: "read 63 of 64 bytes"},
		{name: "bad magic", patch: func(b []byte) []byte { b[3] = 'G'; return b }, want: `not an ELF file: it starts with "\x7fELG"`},
		{name: "ELFCLASS32", patch: func(b []byte) []byte { b[elf.EI_CLASS] = 1; return b }, want: "e_ident[EI_CLASS] is 1 (ELFCLASS32), want 2"},
		{name: "big endian", patch: func(b []byte) []byte { b[elf.EI_DATA] = 2; return b }, want: "e_ident[EI_DATA] is 2 (ELFDATA2MSB), want 1"},
		{name: "e_version 0", patch: func(b []byte) []byte { tle.PutUint32(b[offVersion:], 0); return b }, want: "e_version is 0, want 1"},
		{name: "e_ehsize", patch: func(b []byte) []byte { tle.PutUint16(b[offEhsize:], 52); return b }, want: "e_ehsize is 52, want 64"},
		{name: "e_phnum 0", patch: func(b []byte) []byte { tle.PutUint16(b[offPhnum:], 0); return b }, want: "e_phnum is 0"},
		{name: "e_phentsize", patch: func(b []byte) []byte { tle.PutUint16(b[offPhentsize:], 64); return b }, want: "e_phentsize is 64, want 56"},
		{name: "ET_DYN", patch: func(b []byte) []byte { tle.PutUint16(b[offType:], 3); return b }, want: "e_type is 3 (ET_DYN), want 2 (ET_EXEC)"},
		{name: "e_machine", patch: func(b []byte) []byte { tle.PutUint16(b[offMachine:], 3); return b }, want: "e_machine is 3 (EM_386), want 62 (EM_X86_64)"},
		{name: "entry below 0x100000", edit: func(e *testELF) { e.entry = 0xfffff }, want: "e_entry 0xfffff does not fall within the memory allocation range [0x100000, 0x400000)"},
		{name: "entry 0", edit: func(e *testELF) { e.entry = 0 }, want: "e_entry 0x0 does not fall"},
		{name: "entry at memory size", edit: func(e *testELF) { e.entry = top }, want: "e_entry 0x400000 does not fall"},
		{name: "entry far beyond memory", edit: func(e *testELF) { e.entry = 1 << 63 }, want: "e_entry 0x8000000000000000 does not fall"},
		{name: "truncated program headers", patch: func(b []byte) []byte { return b[:ehdrSize+3*phdrSize+10] }, want: "program header table does not match the expected size (read 178 of 560 bytes: e_phnum 10 at e_phoff 0x40) (file truncated)"},
		{name: "e_phoff beyond file", patch: func(b []byte) []byte { tle.PutUint64(b[offPhoff:], 1<<20); return b }, want: "read 0 of 560 bytes: e_phnum 10 at e_phoff 0x100000"},
		{name: "e_phoff beyond int64", patch: func(b []byte) []byte { tle.PutUint64(b[offPhoff:], 1<<63+5); return b }, want: "e_phoff 0x8000000000000005) (file truncated)"},
		{name: "e_phoff near 2^64", patch: func(b []byte) []byte { tle.PutUint64(b[offPhoff:], ^uint64(0)-10); return b }, want: "(file truncated)"},
		{name: "e_phnum 65535", patch: func(b []byte) []byte { tle.PutUint16(b[offPhnum:], 0xffff); return b }, want: "of 3669960 bytes: e_phnum 65535"},
		{name: "p_vaddr below 0x100000", edit: func(e *testELF) { e.phdrs[phText].vaddr = 0xff000 }, want: "phdr[1].p_vaddr 0xff000 outside of valid memory range (below 0x100000)"},
		{name: "unsorted", edit: func(e *testELF) { e.phdrs[phText].vaddr, e.phdrs[phRodata].vaddr = 0x101000, 0x100000 }, want: "phdr[2].p_vaddr 0x100000 is not in ascending order (previous segment at 0x101000)"},
		{name: "overlap, same page", edit: func(e *testELF) { e.phdrs[phRodata].vaddr = 0x100800 }, want: "phdr[2].p_vaddr_start 0x100000 overlaps the previous segments, which end at 0x101000"},
		{name: "overlap, memsz runs into next", edit: func(e *testELF) { e.phdrs[phText].memsz = 0x1001 }, want: "phdr[2].p_vaddr_start 0x101000 overlaps the previous segments, which end at 0x102000"},
		{name: "overlap, same vaddr", edit: func(e *testELF) { e.phdrs[phRodata].vaddr = 0x100000 }, want: "phdr[2].p_vaddr_start 0x100000 overlaps"},
		{name: "p_align 0", edit: func(e *testELF) { e.phdrs[phRodata].align = 0 }, want: "phdr[2].p_align 0x0 is not a non-zero power of two"},
		{name: "p_align 3", edit: func(e *testELF) { e.phdrs[phRodata].align = 3 }, want: "phdr[2].p_align 0x3 is not"},
		{name: "p_align 0x1800", edit: func(e *testELF) { e.phdrs[phRodata].align = 0x1800 }, want: "phdr[2].p_align 0x1800 is not"},
		{name: "p_align pulls start below 0x100000", edit: func(e *testELF) { e.phdrs[phText].align = 0x200000 }, want: "phdr[1].p_vaddr_start 0x0 (p_vaddr 0x100000 aligned down to p_align 0x200000) is outside of memory range (below 0x100000)"},
		{name: "p_vaddr at memory size", edit: func(e *testELF) { e.phdrs[phData].vaddr = top }, want: "phdr[3] program file segment falls outside of valid range (p_vaddr 0x400000 >= mem_size 0x400000)"},
		{name: "p_vaddr far beyond memory", edit: func(e *testELF) { e.phdrs[phData].vaddr = 1 << 62 }, want: "(p_vaddr 0x4000000000000000 >= mem_size"},
		{name: "p_vaddr+p_filesz overflows", patch: func(b []byte) []byte { setPhdr64(b, phData, phOffFilesz, ^uint64(0)-0x1000); return b }, want: "phdr[3] program file segment falls outside of valid range (p_vaddr 0x102000 + p_filesz 0xffffffffffffefff overflows)"},
		{name: "p_vaddr+p_filesz beyond memory", patch: func(b []byte) []byte { setPhdr64(b, phData, phOffFilesz, top); return b }, want: "(p_vaddr + p_filesz = 0x502000 > mem_size 0x400000)"},
		{name: "p_memsz < p_filesz", edit: func(e *testELF) { e.phdrs[phData].memsz = 8 }, want: "phdr[3] program memory segment falls outside of valid range (p_memsz 0x8 < p_filesz 0x10)"},
		{name: "p_vaddr+p_memsz overflows", edit: func(e *testELF) { e.phdrs[phData].memsz = ^uint64(0) - 0x1000 }, want: "(p_vaddr 0x102000 + p_memsz 0xffffffffffffefff overflows)"},
		{name: "aligned end overflows", edit: func(e *testELF) { e.phdrs[phData].memsz = ^uint64(0) - 0x102000 - 0x10 }, want: "(p_vaddr + p_memsz = 0xffffffffffffffef aligned up to p_align 0x1000 overflows)"},
		{name: "p_memsz beyond memory", edit: func(e *testELF) { e.phdrs[phData].memsz = top }, want: "(p_vaddr_end 0x502000 > mem_size 0x400000)"},
		{name: "aligned end beyond memory", edit: func(e *testELF) { e.phdrs[phData].memsz = top - 0x102000 + 1 }, want: "(p_vaddr_end 0x401000 > mem_size"},
		{name: "end at top of memory", edit: func(e *testELF) { e.phdrs[phData].memsz = top - 0x102000 - 0x800 }, want: "phdr[3] program memory segment ends at the top of guest memory (p_vaddr_end 0x400000 == mem_size)"},
		{name: "p_vaddr_start not page aligned", edit: func(e *testELF) { e.phdrs[phText].vaddr, e.phdrs[phText].align = 0x100010, 16 }, want: "phdr[1] p_vaddr_start 0x100010 not aligned with architectural page size 0x1000"},
		{name: "p_vaddr_end not page aligned", edit: func(e *testELF) { e.phdrs[phRodata].align = 16 }, want: "phdr[2] p_vaddr_end 0x101070 not aligned with architectural page size 0x1000"},
		{name: "W+X", edit: func(e *testELF) { e.phdrs[phText].flags = pfR | pfW | pfX }, want: "phdr[1] requests WRITE and EXEC permissions (p_flags 0x7)"},
		{name: "W+X without R", edit: func(e *testELF) { e.phdrs[phData].flags = pfW | pfX }, want: "phdr[3] requests WRITE and EXEC permissions (p_flags 0x3)"},
		{name: "truncated segment data", patch: func(b []byte) []byte { setPhdr64(b, phRodata, phOffOffset, uint64(len(b)-10)); return b }, want: "phdr[2] host file segment mismatched (read 10 of 100 bytes (p_filesz) at p_offset"},
		{name: "segment data beyond file", patch: func(b []byte) []byte { setPhdr64(b, phRodata, phOffOffset, 1<<40); return b }, want: "read 0 of 100 bytes (p_filesz) at p_offset 0x10000000000) (file truncated)"},
		{name: "segment data beyond int64", patch: func(b []byte) []byte { setPhdr64(b, phRodata, phOffOffset, ^uint64(0)); return b }, want: "at p_offset 0xffffffffffffffff) (file truncated)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := validELF()
			if c.edit != nil {
				c.edit(e)
			}
			b := e.encode()
			if c.patch != nil {
				b = c.patch(b)
			}
			_, err := Load(bytes.NewReader(b), MachineX86_64, newMem(t))
			errInvalid(t, err, c.want)
			// Check, which loads nothing, refuses every such file too.
			if _, err := Check(bytes.NewReader(b), MachineX86_64, testMemSize); !errors.Is(err, ErrInvalidELF) {
				t.Errorf("Check: err = %v, want ErrInvalidELF", err)
			}
		})
	}
}

// Check accepts what Load loads and reports the same image.
func TestCheckAgreesWithLoad(t *testing.T) {
	b := validELF().encode()
	loaded, err := Load(bytes.NewReader(b), MachineX86_64, newMem(t))
	if err != nil {
		t.Fatal(err)
	}
	checked, err := Check(bytes.NewReader(b), MachineX86_64, testMemSize)
	if err != nil || checked != loaded {
		t.Errorf("Check = %+v, %v; Load gave %+v", checked, err, loaded)
	}
}

// A rejected header leaves memory as it was: nothing is written before
// every segment has passed.
func TestLoadRejectsBeforeWriting(t *testing.T) {
	mem := newMem(t)
	e := validELF()
	e.phdrs[phData].flags = pfW | pfX
	fill(t, mem, 0x100000, 0x10000, 0xee)
	if _, err := Load(bytes.NewReader(e.encode()), MachineX86_64, mem); err == nil {
		t.Fatal("W+X data loaded")
	}
	for i, v := range readMem(t, mem, 0x100000, 0x10000) {
		if v != 0xee {
			t.Fatalf("byte at %#x = %#x after a rejected load, want untouched 0xee", 0x100000+i, v)
		}
	}
	if got := hostPerms(t, mem, 0x100000); got != "rw-p" {
		t.Errorf("text protection after a rejected load = %q, want rw-p", got)
	}
}

func TestUnsupportedMachine(t *testing.T) {
	b := validELF().encode()
	_, err := Load(bytes.NewReader(b), Machine(elf.EM_386), newMem(t))
	if err == nil || errors.Is(err, ErrInvalidELF) || !strings.Contains(err.Error(), "unsupported target machine EM_386") {
		t.Errorf("Load for EM_386: %v", err)
	}
	_, _, err = Notes(bytes.NewReader(b), Machine(elf.EM_RISCV))
	if err == nil || errors.Is(err, ErrInvalidELF) {
		t.Errorf("Notes for EM_RISCV: %v", err)
	}
}

// failingReader serves the first n bytes of b and fails after them, as a
// broken disk would, so the error is the reader's, not the file's.
type failingReader struct {
	b []byte
	n int64
}

var errDisk = errors.New("disk on fire")

func (r failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.n {
		return 0, errDisk
	}
	return bytes.NewReader(r.b).ReadAt(p, off)
}

func TestReaderErrorsAreNotInvalidELF(t *testing.T) {
	e := validELF()
	b := e.encode()
	for _, c := range []struct {
		name string
		n    int64
	}{
		{"header", 10},
		{"program headers", ehdrSize + 2*phdrSize},
		{"segment data", int64(e.phdrs[phRodata].off)},
		{"ABI note", int64(e.phdrs[phNoteABI].off) + 8},
		{"manifest note", int64(e.phdrs[phNoteMFT].off) + 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := failingReader{b: b, n: c.n}
			var err error
			if strings.Contains(c.name, "note") {
				_, _, err = Notes(r, MachineX86_64)
			} else {
				_, err = Load(r, MachineX86_64, newMem(t))
			}
			if !errors.Is(err, errDisk) || errors.Is(err, ErrInvalidELF) {
				t.Errorf("got %v, want the reader's error and not ErrInvalidELF", err)
			}
		})
	}
}

// A hostile e_phnum must not make the loader allocate what the file does
// not have.
func TestHugePhnumAllocatesLittle(t *testing.T) {
	b := validELF().encode()
	tle.PutUint16(b[offPhnum:], 0xffff)
	r := bytes.NewReader(b)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := Notes(r, MachineX86_64)
	runtime.ReadMemStats(&after)
	errInvalid(t, err, "program header table does not match")
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<10 {
		t.Errorf("rejecting a file of %d bytes claiming 65535 program headers allocated %d bytes", len(b), got)
	}
}

func TestNotesValid(t *testing.T) {
	fds := openFDs(t)
	abi, mft, err := Notes(bytes.NewReader(validELF().encode()), MachineX86_64)
	if err != nil {
		t.Fatalf("Notes: %v", err)
	}
	if abi != (guestabi.ABIInfo{Target: 1, Version: 2}) {
		t.Errorf("ABI = %+v", abi)
	}
	want := testManifest()
	if fmt.Sprint(mft.Entries) != fmt.Sprint(want.Entries) {
		t.Errorf("manifest = %+v, want %+v", mft.Entries, want.Entries)
	}
	if got := openFDs(t); got != fds {
		t.Errorf("open fds: %d before, %d after", fds, got)
	}
}

// Notes does not apply Load's e_entry or segment rules, as upstream's
// elf_load_note does not.
func TestNotesIgnoresLoadRules(t *testing.T) {
	e := validELF()
	e.entry = 0
	e.phdrs[phText].flags = pfR | pfW | pfX
	if _, _, err := Notes(bytes.NewReader(e.encode()), MachineX86_64); err != nil {
		t.Fatalf("Notes: %v", err)
	}
}

func TestNotesVariants(t *testing.T) {
	noteHdr := func(b []byte, e *testELF, ph int) []byte { return b[e.phdrs[ph].off:] }
	cases := []struct {
		name      string
		edit      func(e *testELF)
		patch     func(b []byte, e *testELF) []byte
		want      string // "" for success
		wantIs    error
		wantABI   guestabi.ABIInfo
		checkMore func(t *testing.T, mft *guestabi.Manifest)
	}{
		{name: "missing ABI note", edit: func(e *testELF) { e.phdrs[phNoteABI].typ = uint32(elf.PT_NULL) }, want: "No Solo5 ABI information found in executable", wantIs: ErrNoABINote},
		{name: "ABI note only in a PT_LOAD", edit: func(e *testELF) {
			e.phdrs[phRodata].data = append(abiNote(1, 2), mftNote(testManifest())...)
			e.phdrs[phRodata].memsz = uint64(len(e.phdrs[phRodata].data))
			e.phdrs[phNoteABI].typ = uint32(elf.PT_NULL)
		}, want: "No Solo5 ABI information", wantIs: ErrNoABINote},
		{name: "missing manifest", edit: func(e *testELF) { e.phdrs[phNoteMFT].typ = uint32(elf.PT_LOAD) }, want: "No Solo5 manifest found in executable", wantIs: ErrNoManifest},
		{name: "wrong target", edit: func(e *testELF) { e.phdrs[phNoteABI].data = abiNote(3, 2) }, want: "executable is not for the solo5-hvt target (ABI target 3)"},
		{name: "wrong version", edit: func(e *testELF) { e.phdrs[phNoteABI].data = abiNote(1, 1) }, want: "executable requests unsupported ABI version 1"},
		{name: "wrong target reported before a bad manifest", edit: func(e *testELF) {
			e.phdrs[phNoteABI].data = abiNote(6, 2)
			e.phdrs[phNoteMFT].typ = uint32(elf.PT_NULL)
		}, want: "ABI target 6"},
		{name: "ABI n_descsz 0", patch: func(b []byte, e *testELF) []byte { tle.PutUint32(noteHdr(b, e, phNoteABI)[4:], 0); return b }, want: "phdr[8] (p_offset", wantIs: guestabi.ErrBadNote},
		{name: "ABI n_descsz above 32", patch: func(b []byte, e *testELF) []byte { tle.PutUint32(noteHdr(b, e, phNoteABI)[4:], 33); return b }, want: "ABI note does not fall within valid size (n_descsz 33", wantIs: guestabi.ErrBadNote},
		{name: "ABI n_descsz beyond p_filesz", patch: func(b []byte, e *testELF) []byte {
			setPhdr64(b, phNoteABI, phOffFilesz, 30)
			return b
		}, want: "ABI note does not fall within valid size (n_descsz 16, segment 30 bytes)", wantIs: guestabi.ErrBadNote},
		{name: "ABI payload short", patch: func(b []byte, e *testELF) []byte { tle.PutUint32(noteHdr(b, e, phNoteABI)[4:], 8); return b }, want: "ABI note payload is 8 bytes, want 16", wantIs: guestabi.ErrBadNote},
		{name: "manifest n_descsz leaves no payload", patch: func(b []byte, e *testELF) []byte { tle.PutUint32(noteHdr(b, e, phNoteMFT)[4:], 4); return b }, want: "manifest note does not fall within valid size (n_descsz 4 leaves no payload)", wantIs: guestabi.ErrBadNote},
		{name: "manifest n_descsz not the manifest's size", patch: func(b []byte, e *testELF) []byte {
			h := noteHdr(b, e, phNoteMFT)
			tle.PutUint32(h[4:], tle.Uint32(h[4:])-8)
			return b
		}, want: "Solo5 manifest is invalid", wantIs: guestabi.ErrInvalidManifest},
		{name: "tiny PT_NOTE", patch: func(b []byte, e *testELF) []byte { setPhdr64(b, phNoteBSD, phOffFilesz, 11); return b }, want: "phdr[7] (p_offset", wantIs: guestabi.ErrBadNote},
		{name: "PT_NOTE of 12 to 19 bytes is skipped", patch: func(b []byte, e *testELF) []byte { setPhdr64(b, phNoteBSD, phOffFilesz, 19); return b }},
		{name: "PT_NOTE header beyond file", patch: func(b []byte, e *testELF) []byte { setPhdr64(b, phNoteBSD, phOffOffset, uint64(len(b)-10)); return b }, want: "phdr[7] (p_offset", wantIs: io.ErrUnexpectedEOF},
		{name: "ABI payload beyond file", patch: func(b []byte, e *testELF) []byte {
			off := e.phdrs[phNoteMFT].off + e.phdrs[phNoteMFT].filesz
			copy(b[off-20:], abiNote(1, 2)[:20])
			setPhdr64(b, phNoteABI, phOffOffset, off-20)
			return b[:off]
		}, wantIs: io.ErrUnexpectedEOF, want: "reading ABI note"},
		{name: "manifest entry 0 not reserved", edit: func(e *testELF) {
			m := testManifest()
			m.Entries[0].Type = guestabi.DeviceBlockBasic
			e.phdrs[phNoteMFT].data = mftNote(m)
		}, want: "Solo5 manifest is invalid: entry 0 must be the reserved entry", wantIs: guestabi.ErrInvalidManifest},
		{name: "manifest entry attached", edit: func(e *testELF) {
			m := testManifest()
			m.Entries[2].Attached = true
			e.phdrs[phNoteMFT].data = mftNote(m)
		}, want: `entry 2 ("service0") is marked attached`, wantIs: guestabi.ErrInvalidManifest},
		{name: "manifest declares a name twice", edit: func(e *testELF) {
			m := testManifest()
			m.Entries = append(m.Entries, guestabi.Entry{Name: "storage", Type: guestabi.DeviceBlockBasic})
			e.phdrs[phNoteMFT].data = mftNote(m)
		}, want: `Solo5 manifest is invalid: entries 1 and 3 are both named "storage"`, wantIs: guestabi.ErrInvalidManifest},
		{name: "manifest version 2", patch: func(b []byte, e *testELF) []byte { tle.PutUint32(b[e.phdrs[phNoteMFT].off+24:], 2); return b }, want: "Solo5 manifest is invalid: version 2, want 1", wantIs: guestabi.ErrInvalidManifest},
		{name: "manifest name not terminated", patch: func(b []byte, e *testELF) []byte {
			b[e.phdrs[phNoteMFT].off+24+8+104+67] = 'x'
			return b
		}, want: "entry 1: name is not NUL-terminated", wantIs: guestabi.ErrInvalidManifest},
		{name: "manifest in a second PT_NOTE", edit: func(e *testELF) {
			e.phdrs[phNoteBSD].data = abiNote(1, 2)
			e.phdrs[phNoteABI].typ = uint32(elf.PT_NULL)
		}},
		{name: "both notes in one PT_NOTE: the second is not seen", edit: func(e *testELF) {
			e.phdrs[phNoteABI].data = append(abiNote(1, 2), mftNote(testManifest())...)
			e.phdrs[phNoteMFT].typ = uint32(elf.PT_NULL)
		}, want: "No Solo5 manifest", wantIs: ErrNoManifest},
		{name: "first Solo5 note of its kind wins", edit: func(e *testELF) {
			e.phdrs[phNoteBSD].data = mftNote(guestabi.NewManifest())
		}, checkMore: func(t *testing.T, mft *guestabi.Manifest) {
			if len(mft.Entries) != 1 {
				t.Errorf("manifest has %d entries, want the first PT_NOTE's 1", len(mft.Entries))
			}
		}},
		{name: "note named Solo5 with the wrong n_namesz is skipped", patch: func(b []byte, e *testELF) []byte {
			tle.PutUint32(noteHdr(b, e, phNoteABI)[0:], 5)
			return b
		}, want: "No Solo5 ABI information", wantIs: ErrNoABINote},
		{name: "ELF header checked", patch: func(b []byte, e *testELF) []byte { tle.PutUint16(b[offType:], 4); return b }, want: "e_type is 4 (ET_CORE)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := validELF()
			if c.edit != nil {
				c.edit(e)
			}
			b := e.encode()
			if c.patch != nil {
				b = c.patch(b, e)
			}
			abi, mft, err := Notes(bytes.NewReader(b), MachineX86_64)
			if c.want == "" && c.wantIs == nil {
				if err != nil {
					t.Fatalf("Notes: %v", err)
				}
				if abi != (guestabi.ABIInfo{Target: 1, Version: 2}) || mft == nil {
					t.Fatalf("Notes = %+v, %v", abi, mft)
				}
				if c.checkMore != nil {
					c.checkMore(t, mft)
				}
				return
			}
			errInvalid(t, err, c.want)
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("error %q does not wrap %v", err, c.wantIs)
			}
			if mft != nil {
				t.Errorf("manifest returned with an error")
			}
		})
	}
}

// BenchmarkLoad loads a test_hello-shaped image (a 2 MiB memory-only
// .bss, which Load zeroes) into fresh 512 MiB guest memory, as the
// monitor does at start-up.
func BenchmarkLoad(b *testing.B) {
	e := validELF()
	e.phdrs[phBSS].memsz = 0x203ca0
	file := e.encode()
	for b.Loop() {
		b.StopTimer()
		mem, err := guestmem.New(guestmem.DefaultSize)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Load(bytes.NewReader(file), MachineX86_64, mem); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mem.Close()
		b.StartTimer()
	}
}

// MinMemory is the exact bound: Check accepts it and refuses one byte less.
func TestMinMemory(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *testELF)
	}{
		{"valid", func(e *testELF) {}},
		{"big bss", func(e *testELF) { e.phdrs[phData].memsz = 0x300000 }},
		{"entry above the segments", func(e *testELF) { e.entry = 0x280000 }},
	}
	for _, tt := range tests {
		e := validELF()
		tt.edit(e)
		b := e.encode()
		need, err := MinMemory(bytes.NewReader(b), MachineX86_64)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if _, err := Check(bytes.NewReader(b), MachineX86_64, need); err != nil {
			t.Errorf("%s: Check(%#x) = %v", tt.name, need, err)
		}
		if _, err := Check(bytes.NewReader(b), MachineX86_64, need-1); !errors.Is(err, ErrInvalidELF) {
			t.Errorf("%s: Check(%#x) = %v, want a refusal", tt.name, need-1, err)
		}
	}
	if _, err := MinMemory(bytes.NewReader([]byte("text")), MachineX86_64); !errors.Is(err, ErrNotELF) {
		t.Errorf("MinMemory(text) = %v, want ErrNotELF", err)
	}
}
