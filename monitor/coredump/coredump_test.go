package coredump

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
)

// TestWrite writes a core of a 64 MiB guest memory with two touched pages
// and reads it back with debug/elf.
func TestWrite(t *testing.T) {
	mem, err := guestmem.New(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	low, _ := mem.Writable(0x100000, 4096)
	copy(low, "text")
	high, _ := mem.Writable(0x3000000, 4096)
	copy(high[100:], "stack")
	zero, _ := mem.Writable(0x200000, 4096)
	zero[0] = 1 // touched, then zero again: a hole too
	zero[0] = 0

	seg1, _ := mem.Bytes(0x100000, 0x1000000)
	seg2, _ := mem.Bytes(0x3000000, 0x1000)
	regs := kvm.Regs{RIP: 0x100010, RSP: 0x7f00_0000_0ff0}
	c := Core{
		Machine: elf.EM_X86_64,
		Notes:   []Note{{Name: "CORE", Type: elf.NT_PRSTATUS, Desc: PRStatusAMD64(regs, kvm.Sregs{}, 6)}},
		Segments: []Segment{
			{VA: 0x100000, Data: seg1},
			{VA: 0x7f00_0000_0000, Data: seg2, Writable: true},
		},
	}
	f, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := Write(f, c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pages != 0x1001 || st.Written != 2 {
		t.Errorf("Stats = %+v, want 4097 pages, 2 written", st)
	}
	var fi syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &fi); err != nil {
		t.Fatal(err)
	}
	if fi.Size < 0x1001000 || fi.Blocks*512 > 1<<20 {
		t.Errorf("file: %d bytes, %d on disk; want > 16 MiB and sparse", fi.Size, fi.Blocks*512)
	}

	e, err := elf.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Type != elf.ET_CORE || e.Machine != elf.EM_X86_64 || len(e.Progs) != 3 || e.Progs[0].Type != elf.PT_NOTE {
		t.Fatalf("header %v %v, %d segments", e.Type, e.Machine, len(e.Progs))
	}
	note := make([]byte, e.Progs[0].Filesz)
	e.Progs[0].ReadAt(note, 0)
	if le := len(note); le != 12+8+prstatusSizeAMD64 || string(note[12:16]) != "CORE" {
		t.Fatalf("note of %d bytes: %q", le, note[:20])
	}
	if rip := le64(note[20+prReg+16*8:]); rip != regs.RIP {
		t.Errorf("pr_reg rip = %#x, want %#x", rip, regs.RIP)
	}
	for _, tt := range []struct {
		prog int
		off  int64
		want string
	}{{1, 0, "text"}, {2, 100, "stack"}, {1, 0x100000, "\x00\x00\x00\x00"}} {
		b := make([]byte, len(tt.want))
		if _, err := e.Progs[tt.prog].ReadAt(b, tt.off); err != nil || string(b) != tt.want {
			t.Errorf("segment %d at %#x: %q, %v; want %q", tt.prog, tt.off, b, err, tt.want)
		}
	}
	if p := e.Progs[2]; p.Vaddr != 0x7f00_0000_0000 || p.Flags&elf.PF_W == 0 {
		t.Errorf("segment 2: %+v", p.ProgHeader)
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func TestCreateNames(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 3 {
		f, err := Create(dir)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if seen[f.Name()] || !strings.HasPrefix(filepath.Base(f.Name()), "core.unimon.") {
			t.Fatalf("name %s (seen: %v)", f.Name(), seen[f.Name()])
		}
		seen[f.Name()] = true
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	if err := CheckDir(dir); err != nil {
		t.Errorf("CheckDir(%s) = %v", dir, err)
	}
	for _, d := range []string{filepath.Join(dir, "missing"), file} {
		if err := CheckDir(d); !errors.Is(err, ErrDir) {
			t.Errorf("CheckDir(%s) = %v, want ErrDir", d, err)
		}
	}
}

func TestDecodeTrapRegs(t *testing.T) {
	b := make([]byte, guestabi.TrapRegsSize)
	for i := range 7 {
		b[8*i] = byte(i + 1)
	}
	if tr, ok := DecodeTrapRegs(b); !ok || tr != (TrapRegs{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("DecodeTrapRegs = %+v, %v", tr, ok)
	}
	if _, ok := DecodeTrapRegs(b[:guestabi.TrapRegsSize-1]); ok {
		t.Error("DecodeTrapRegs accepted a short cookie")
	}
}

// TestPRStatusLayout: the registers sit where Linux's elf_prstatus has
// them, which is where gdb reads them.
func TestPRStatusLayout(t *testing.T) {
	var a UserPtRegs
	for i := range a.X {
		a.X[i] = uint64(0x100 + i)
	}
	a.SP, a.PC, a.PState = 0xfff0, 0x100010, 0x3c5
	tests := []struct {
		name string
		desc []byte
		size int
		regs map[int]uint64 // offset into the descriptor: value
	}{
		{"amd64", PRStatusAMD64(kvm.Regs{RAX: 1, RIP: 0x100010, RSP: 0xfff0}, kvm.Sregs{}, 11), 336,
			map[int]uint64{112 + 10*8: 1, 112 + 16*8: 0x100010, 112 + 19*8: 0xfff0}},
		{"arm64", PRStatusARM64(a, 11), 392,
			map[int]uint64{112: 0x100, 112 + 30*8: 0x100 + 30, 360: 0xfff0, 368: 0x100010, 376: 0x3c5, 384: 0}},
	}
	for _, tt := range tests {
		if len(tt.desc) != tt.size || tt.desc[0] != 11 || tt.desc[prCursig] != 11 {
			t.Errorf("%s: %d bytes, signal %d, cursig %d; want %d bytes, 11", tt.name, len(tt.desc), tt.desc[0], tt.desc[prCursig], tt.size)
			continue
		}
		for off, want := range tt.regs {
			if got := le64(tt.desc[off:]); got != want {
				t.Errorf("%s: at %d: %#x, want %#x", tt.name, off, got, want)
			}
		}
	}
}
