package coredump

import "encoding/binary"

// The part of Linux's struct elf_prstatus that is the same on x86_64 and
// arm64: struct elf_siginfo (the signal at 0), pr_cursig at 12, the
// pending and held signal sets, pids and times (left zero), then pr_reg,
// the architecture's general registers, at 112.
const (
	prCursig = 12
	prReg    = 112
)

// prstatus is an NT_PRSTATUS descriptor of size bytes with sig as the
// current signal and regs as pr_reg, as upstream's dumpcore fills it.
func prstatus(size, sig int, regs []uint64) []byte {
	b := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(sig)) // pr_info.si_signo
	le.PutUint16(b[prCursig:], uint16(sig))
	for i, v := range regs {
		le.PutUint64(b[prReg+8*i:], v)
	}
	return b
}
