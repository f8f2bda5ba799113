package elfload

import (
	"bytes"
	"debug/elf"
	"math"
	"strconv"
	"strings"
	"testing"
)

// The package keeps its own copies of debug/elf's values (see the package
// comment); these tests hold them equal.

func TestConstantsMatchDebugELF(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"MachineX86_64", uint64(MachineX86_64), uint64(elf.EM_X86_64)},
		{"MachineAArch64", uint64(MachineAArch64), uint64(elf.EM_AARCH64)},
		{"eiClass", eiClass, elf.EI_CLASS},
		{"eiData", eiData, elf.EI_DATA},
		{"elfClass64", elfClass64, uint64(elf.ELFCLASS64)},
		{"elfData2LSB", elfData2LSB, uint64(elf.ELFDATA2LSB)},
		{"evCurrent", evCurrent, uint64(elf.EV_CURRENT)},
		{"etExec", etExec, uint64(elf.ET_EXEC)},
		{"ptLoad", ptLoad, uint64(elf.PT_LOAD)},
		{"ptNote", ptNote, uint64(elf.PT_NOTE)},
		{"pfX", pfX, uint64(elf.PF_X)},
		{"pfW", pfW, uint64(elf.PF_W)},
		{"pfR", pfR, uint64(elf.PF_R)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, debug/elf says %d", c.name, c.got, c.want)
		}
	}
	if elfMagic != elf.ELFMAG {
		t.Errorf("elfMagic = %q, debug/elf's ELFMAG is %q", elfMagic, elf.ELFMAG)
	}
}

// TestNamesMatchDebugELF checks every value of each field the loader's
// messages name: debug/elf's name where the table has one, else the
// number.
func TestNamesMatchDebugELF(t *testing.T) {
	for _, c := range []struct {
		field string
		max   uint32
		got   func(v uint32) string
		want  func(v uint32) string
	}{
		{"e_machine", math.MaxUint16, func(v uint32) string { return Machine(v).String() }, func(v uint32) string { return elf.Machine(v).String() }},
		{"EI_CLASS", math.MaxUint8, func(v uint32) string { return nameOf(v, classNames) }, func(v uint32) string { return elf.Class(v).String() }},
		{"EI_DATA", math.MaxUint8, func(v uint32) string { return nameOf(v, dataNames) }, func(v uint32) string { return elf.Data(v).String() }},
		{"e_type", math.MaxUint16, func(v uint32) string { return nameOf(v, typeNames) }, func(v uint32) string { return elf.Type(v).String() }},
	} {
		bad := 0
		for v := uint32(0); v <= c.max; v++ {
			got, want := c.got(v), c.want(v)
			if got == strconv.FormatUint(uint64(v), 10) {
				continue // not in the table
			}
			if got != want {
				if bad++; bad <= 5 {
					t.Errorf("%s %d is named %q, debug/elf names it %q", c.field, v, got, want)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s: %d more values named differently", c.field, bad-5)
		}
	}
}

// TestMachineMessages checks the words callers and users see for the
// machines that matter: the two unimon runs and a foreign one.
func TestMachineMessages(t *testing.T) {
	for _, c := range []struct {
		m    Machine
		want string
	}{
		{MachineX86_64, "EM_X86_64"},
		{MachineAArch64, "EM_AARCH64"},
		{Machine(elf.EM_386), "EM_386"},
		{Machine(elf.EM_RISCV), "EM_RISCV"},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("Machine(%d).String() = %q, want %q", uint16(c.m), got, c.want)
		}
	}
	b := validELF().encode()
	if _, err := Parse(bytes.NewReader(b), MachineAArch64); err == nil ||
		!strings.Contains(err.Error(), "e_machine is 62 (EM_X86_64), want 183 (EM_AARCH64)") {
		t.Errorf("Parse of an x86_64 file for aarch64: %v", err)
	}
	if _, err := Parse(bytes.NewReader(b), Machine(elf.EM_RISCV)); err == nil ||
		!strings.Contains(err.Error(), "unsupported target machine EM_RISCV (want EM_X86_64 or EM_AARCH64)") {
		t.Errorf("Parse for EM_RISCV: %v", err)
	}
}

// FileMachine reads the machine a file claims, whatever it is, and only
// from a file that starts as an ELF file does.
func TestFileMachine(t *testing.T) {
	withMachine := func(m uint16) []byte {
		b := validELF().encode()
		tle.PutUint16(b[offMachine:], m)
		return b
	}
	for _, tt := range []struct {
		name   string
		file   []byte
		want   Machine
		wantOK bool
	}{
		{"x86_64", withMachine(uint16(MachineX86_64)), MachineX86_64, true},
		{"aarch64", withMachine(uint16(MachineAArch64)), MachineAArch64, true},
		{"riscv", withMachine(243), Machine(243), true},
		{"not ELF", append([]byte("MZ\x90\x00"), make([]byte, 60)...), 0, false},
		{"short", []byte("\x7fELF\x02\x01"), 0, false},
	} {
		if got, ok := FileMachine(bytes.NewReader(tt.file)); got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: FileMachine = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
