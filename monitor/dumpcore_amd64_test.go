//go:build !unimon_nodebug

package monitor_test

// coreLayout: elf_prstatus of 336 bytes with rip at pr_reg[16]; KVM
// reports a port exit with rip past the `out dx, eax` (0xef), at the ud2
// microguest puts after every HALT.
var coreLayout = archCore{size: 336, pc: 112 + 16*8, halt: []byte{0xef, 0x0f, 0x0b}, haltOffset: -1}
