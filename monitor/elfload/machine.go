package elfload

import (
	"io"
	"strconv"
)

// Machine is an ELF file's e_machine: the architecture it was built for.
// It is the package's own type, not debug/elf's, so that the monitor does
// not link debug/elf (see the package comment).
type Machine uint16

// The machines unimon runs unikernels for.
const (
	MachineX86_64  Machine = 62  // EM_X86_64
	MachineAArch64 Machine = 183 // EM_AARCH64
)

// FileMachine returns the e_machine r's ELF header claims, before any of
// Parse's checks, and false when r does not start with the ELF magic: for
// a caller that picks the machine to Parse a file for by the file.
func FileMachine(r io.ReaderAt) (Machine, bool) {
	var b [20]byte
	if _, err := r.ReadAt(b[:], 0); err != nil || string(b[:len(elfMagic)]) != elfMagic {
		return 0, false
	}
	return Machine(le.Uint16(b[18:])), true
}

// String returns the machine's name as debug/elf names it ("EM_X86_64",
// "EM_386") for the machines a unikernel file is likely to have been
// built for, else its number: the loader's messages name a file's
// e_machine in the words they always had.
func (m Machine) String() string { return nameOf(uint32(m), machineNames) }

// elfName is one entry of a table of ELF names.
type elfName struct {
	v uint32
	s string
}

// nameOf names v from names, else by its number.
func nameOf(v uint32, names []elfName) string {
	for _, n := range names {
		if n.v == v {
			return n.s
		}
	}
	return strconv.FormatUint(uint64(v), 10)
}

// Names of e_ident[EI_CLASS], e_ident[EI_DATA] and e_type values, for
// the messages that reject them.
var (
	classNames = []elfName{{0, "ELFCLASSNONE"}, {1, "ELFCLASS32"}, {2, "ELFCLASS64"}}
	dataNames  = []elfName{{0, "ELFDATANONE"}, {1, "ELFDATA2LSB"}, {2, "ELFDATA2MSB"}}
	typeNames  = []elfName{{0, "ET_NONE"}, {1, "ET_REL"}, {2, "ET_EXEC"}, {3, "ET_DYN"}, {4, "ET_CORE"}}
)

// machineNames names the machines Linux runs on that an executable given
// to unimon by mistake was likely built for.
var machineNames = []elfName{
	{3, "EM_386"}, {8, "EM_MIPS"}, {20, "EM_PPC"}, {21, "EM_PPC64"}, {22, "EM_S390"},
	{40, "EM_ARM"}, {43, "EM_SPARCV9"}, {62, "EM_X86_64"}, {183, "EM_AARCH64"},
	{243, "EM_RISCV"}, {258, "EM_LOONGARCH"},
}
