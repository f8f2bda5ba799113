// Package x86_64 computes the boot state of a Solo5 hvt guest on x86_64:
// identity page tables and GDT in guest memory, the control and segment
// registers, the entry registers, and the CPUID a guest is shown. It
// writes guest memory only through guestmem and touches no vCPU itself.
package x86_64

import (
	"encoding/binary"
	"fmt"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
)

// Guest-physical addresses of the boot structures (ABI doc §4.2).
const (
	GDTBase  = 0x1000
	PML4Base = 0x2000
	PDPTBase = 0x3000
	PDBase   = 0x4000 // four page directories, 0x4000-0x7fff
	PTBase   = 0x8000 // 4 KiB entries for the first 2 MiB
)

// Page-table entry bits.
const (
	ptePresent  = 1 << 0
	pteWritable = 1 << 1
	pteLarge    = 1 << 7
)

// Control register and EFER bits the guest starts with (ABI doc §5.1).
const (
	CR0PE = 1 << 0
	CR0NE = 1 << 5
	CR0WP = 1 << 16
	CR0PG = 1 << 31

	CR4PAE        = 1 << 5
	CR4OSFXSR     = 1 << 9
	CR4OSXMMEXCPT = 1 << 10

	EFERLME = 1 << 8
	EFERLMA = 1 << 10

	// InitialCR0 is PE|NE|WP|PG = 0x80010021.
	InitialCR0 = CR0PE | CR0NE | CR0WP | CR0PG
	// InitialCR4 is PAE|OSFXSR|OSXMMEXCPT = 0x620.
	InitialCR4 = CR4PAE | CR4OSFXSR | CR4OSXMMEXCPT
	// InitialEFER is LME|LMA = 0x500.
	InitialEFER = EFERLME | EFERLMA
)

// GDT descriptors: null, 64-bit code, data.
const (
	gdtCode = 0x00af99000000ffff
	gdtData = 0x00cf93000000ffff

	// Selectors of the boot GDT.
	SelectorCode = 0x08
	SelectorData = 0x10
)

// SetupMemory writes the boot GDT and the identity page tables for all of
// guest memory: 4 KiB pages for the first 2 MiB (nothing below 0x10000,
// read-only 0x10000-0xfffff, read-write above), 2 MiB pages beyond.
func SetupMemory(mem *guestmem.Memory) error {
	gdt, err := mem.Writable(GDTBase, 3*8)
	if err != nil {
		return fmt.Errorf("boot GDT: %w", err)
	}
	le := binary.LittleEndian
	le.PutUint64(gdt[0:], 0)
	le.PutUint64(gdt[8:], gdtCode)
	le.PutUint64(gdt[16:], gdtData)

	// Zeroed, not written with zeroes: fresh guest memory is zero
	// already, and writing zeroes would make resident the page
	// directories above the guest's memory, which stay empty (issue 12:
	// peak RSS).
	tables, err := mem.Zeroed(PML4Base, PTBase+0x1000-PML4Base)
	if err != nil {
		return fmt.Errorf("boot page tables: %w", err)
	}
	at := func(gpa uint64) []byte { return tables[gpa-PML4Base:] }
	le.PutUint64(at(PML4Base), PDPTBase|ptePresent|pteWritable)
	for i := uint64(0); i < 4; i++ {
		le.PutUint64(at(PDPTBase+8*i), (PDBase+0x1000*i)|ptePresent|pteWritable)
	}
	le.PutUint64(at(PDBase), PTBase|ptePresent|pteWritable)
	for page := uint64(0); page < 512; page++ {
		addr := page << 12
		var e uint64
		switch {
		case addr < guestabi.BootInfoAddr:
			continue // not present: NULL dereferences fault
		case addr < guestabi.GuestMinBase:
			e = addr | ptePresent // boot info, manifest, command line: read-only
		default:
			e = addr | ptePresent | pteWritable
		}
		le.PutUint64(at(PTBase+8*page), e)
	}
	// 2 MiB pages for the rest, linear across the four page directories.
	for addr := uint64(guestmem.Granule); addr < mem.Size(); addr += guestmem.Granule {
		le.PutUint64(at(PDBase+8*(addr>>21)), addr|ptePresent|pteWritable|pteLarge)
	}
	return nil
}

// SetupSregs sets long mode, paging and the flat boot segments in s,
// leaving the fields the ABI does not define as KVM reset them.
func SetupSregs(s *kvm.Sregs) {
	code := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: SelectorCode,
		Type: 9, Present: 1, S: 1, L: 1, G: 1}
	data := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: SelectorData,
		Type: 3, Present: 1, S: 1, DB: 1, G: 1}
	s.CS = code
	s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
	s.TR = kvm.Segment{Type: 11, Present: 1}
	s.LDT = kvm.Segment{Unusable: 1}
	s.GDT = kvm.DTable{Base: GDTBase, Limit: 3*8 - 1}
	s.IDT = kvm.DTable{}
	s.CR0 = InitialCR0
	s.CR3 = PML4Base
	s.CR4 = InitialCR4
	s.EFER = InitialEFER
}

// EntryRegs returns the registers at the guest's first instruction.
func EntryRegs(entry, memSize uint64) kvm.Regs {
	return kvm.Regs{
		RIP:    entry,
		RSP:    memSize - 8,
		RDI:    guestabi.BootInfoAddr,
		RFLAGS: 0x2,
	}
}

// CPUID feature bits a unikernel is never shown.
const (
	leaf1ECXVMX    = 1 << 5  // nested VMX: unimon is not a hypervisor for the guest
	leaf1ECXSMX    = 1 << 6  // safer mode extensions (GETSEC)
	leaf7EBXSGX    = 1 << 2  // SGX enclaves
	leaf7ECXSGXLC  = 1 << 30 // SGX launch control
	ext1ECXSVM     = 1 << 2  // nested SVM
	leafSGX        = 0x12
	leaf1ECXX2APIC = 1 << 21    // no local APIC unless an irqchip exists
	leaf1ECXTSCDL  = 1 << 24    // TSC-deadline timer needs the local APIC too
	leaf1EBXAPICID = 0xff << 24 // initial APIC ID
	leafTopology   = 0xb        // extended topology: EDX is the x2APIC ID
	leafTopologyV2 = 0x1f
)

// apicTimerKHz is the rate of KVM's in-kernel local APIC timer, which the
// timing leaf publishes: one count per APIC bus cycle, which KVM makes
// 1 ns unless the monitor changes it (KVM_CAP_X86_APIC_BUS_CYCLES_NS,
// which unimon does not use).
const apicTimerKHz = 1_000_000

// FilterCPUID removes from KVM's supported CPUID what a unikernel must not
// use: nested virtualization (VMX, SVM), SMX and SGX, and, when the VM has
// no in-kernel irqchip, the x2APIC and TSC-deadline timer it could not
// use. Upstream solo5-hvt passes everything through (Solo5 issue #610).
// The APIC ID fields (leaf 1's EBX bits 31-24, leaves 0xB and 0x1F's
// EDX) say vCPU 0's, 0: KVM fills in those of whichever host CPU ran
// KVM_GET_SUPPORTED_CPUID, which the guest's local APIC (ID 0) would
// contradict, and which would differ from boot to boot.
//
// With an irqchip it adds the timing leaf (guestabi.CPUIDTimingLeaf):
// the TSC's rate, tscKHz, and the APIC timer's, so the guest need not
// measure its timer. It does so only beside KVM's hypervisor base leaf,
// which it raises to reach the timing leaf.
func FilterCPUID(entries []kvm.CPUIDEntry, irqchip bool, tscKHz uint32) []kvm.CPUIDEntry {
	out := make([]kvm.CPUIDEntry, 0, len(entries)+1)
	timing := false
	for _, e := range entries {
		switch e.Function {
		case 1:
			e.EBX &^= leaf1EBXAPICID
			e.ECX &^= leaf1ECXVMX | leaf1ECXSMX
			if !irqchip {
				e.ECX &^= leaf1ECXX2APIC | leaf1ECXTSCDL
			}
		case 7:
			if e.Index == 0 {
				e.EBX &^= leaf7EBXSGX
				e.ECX &^= leaf7ECXSGXLC
			}
		case leafTopology, leafTopologyV2:
			e.EDX = 0
		case 0x80000001:
			e.ECX &^= ext1ECXSVM
		case leafSGX, guestabi.CPUIDTimingLeaf:
			continue
		case guestabi.CPUIDHypervisorBase:
			if irqchip {
				timing = true
				e.EAX = max(e.EAX, guestabi.CPUIDTimingLeaf)
			}
		}
		out = append(out, e)
	}
	if timing {
		out = append(out, kvm.CPUIDEntry{Function: guestabi.CPUIDTimingLeaf, EAX: tscKHz, EBX: apicTimerKHz})
	}
	return out
}
