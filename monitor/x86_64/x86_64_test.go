package x86_64

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/monitor/kvm"
	"golang.org/x/sys/unix"
)

// The page tables and GDT must match what upstream's tender builds; the
// values are those read from a solo5-hvt core dump (ABI doc §4.3), with
// the CPU's accessed/dirty bits cleared.
func TestBootTablesMatchUpstream(t *testing.T) {
	mem, err := guestmem.New(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if err := SetupMemory(mem); err != nil {
		t.Fatal(err)
	}
	u64 := func(gpa uint64) uint64 {
		b, err := mem.Bytes(gpa, 8)
		if err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint64(b)
	}
	checks := []struct {
		name string
		gpa  uint64
		want uint64
	}{
		{"GDT code", 0x1008, 0x00af99000000ffff},
		{"GDT data", 0x1010, 0x00cf93000000ffff},
		{"PML4[0]", 0x2000, 0x3003},
		{"PDPT[0]", 0x3000, 0x4003},
		{"PDPT[3]", 0x3018, 0x7003},
		{"PD0[0]", 0x4000, 0x8003},
		{"PD0[1]", 0x4008, 0x200083},
		{"PD0[3]", 0x4018, 0x600083},
		{"PD0[4] beyond 8 MiB", 0x4020, 0},
		{"PT[15] not present", 0x8000 + 15*8, 0},
		{"PT[16] read-only", 0x8000 + 16*8, 0x10001},
		{"PT[255] read-only", 0x8000 + 255*8, 0xff001},
		{"PT[256] read-write", 0x8000 + 256*8, 0x100003},
	}
	for _, c := range checks {
		if got := u64(c.gpa); got != c.want {
			t.Errorf("%s at %#x = %#x, want %#x", c.name, c.gpa, got, c.want)
		}
	}
}

func TestEntryState(t *testing.T) {
	var s kvm.Sregs
	SetupSregs(&s)
	if s.CR0 != 0x80010021 || s.CR4 != 0x620 || s.EFER != 0x500 || s.CR3 != 0x2000 {
		t.Errorf("CR0 %#x CR4 %#x EFER %#x CR3 %#x", s.CR0, s.CR4, s.EFER, s.CR3)
	}
	if s.CS.Selector != 8 || s.CS.L != 1 || s.SS.Selector != 0x10 || s.GDT.Base != 0x1000 || s.GDT.Limit != 23 {
		t.Errorf("segments %+v %+v %+v", s.CS, s.SS, s.GDT)
	}
	r := EntryRegs(0x100010, 512<<20)
	if r.RIP != 0x100010 || r.RSP != 512<<20-8 || r.RDI != 0x10000 || r.RFLAGS != 2 {
		t.Errorf("regs %+v", r)
	}
}

func TestFilterCPUID(t *testing.T) {
	in := []kvm.CPUIDEntry{
		{Function: 1, EBX: 3<<24 | 0x10800, ECX: 1<<5 | 1<<6 | 1<<21 | 1<<24 | 1<<0},
		{Function: 7, EBX: 1<<2 | 1<<5, ECX: 1 << 30},
		{Function: 0x12},
		{Function: 0x80000001, ECX: 1<<2 | 1<<0},
		{Function: 0xb, Index: 0, EBX: 1, ECX: 0x100, EDX: 3},
		{Function: 0x1f, Index: 1, EBX: 2, ECX: 0x201, EDX: 3},
	}
	out := FilterCPUID(in, false, 0)
	if len(out) != 5 {
		t.Fatalf("SGX leaf kept: %d entries", len(out))
	}
	if out[0].ECX != 1 || out[1].EBX != 1<<5 || out[1].ECX != 0 || out[2].ECX != 1 {
		t.Errorf("filtered %+v", out)
	}
	// The APIC IDs are vCPU 0's; the rest of those words stays.
	if out[0].EBX != 0x10800 || out[3].EDX != 0 || out[4].EDX != 0 || out[3].ECX != 0x100 || out[4].EBX != 2 {
		t.Errorf("APIC IDs not vCPU 0's: %+v", out)
	}
	if FilterCPUID(in, true, 0)[0].ECX != 1|1<<21|1<<24 {
		t.Errorf("x2APIC hidden although an irqchip exists")
	}
}

// The timing leaf comes with the irqchip, beside KVM's hypervisor leaves
// only, replacing any KVM had, with the base leaf raised to reach it.
func TestFilterCPUIDTimingLeaf(t *testing.T) {
	kvmLeaves := []kvm.CPUIDEntry{
		{Function: 1, ECX: 1 << 31},
		{Function: guestabi.CPUIDHypervisorBase, EAX: 0x40000001, EBX: 0x4b4d564b},
		{Function: 0x40000001, EAX: 0x1007efb},
		{Function: guestabi.CPUIDTimingLeaf, EAX: 1, EBX: 2},
	}
	timing := kvm.CPUIDEntry{Function: guestabi.CPUIDTimingLeaf, EAX: 2_100_000, EBX: apicTimerKHz}
	for _, tc := range []struct {
		name    string
		in      []kvm.CPUIDEntry
		irqchip bool
		base    uint32 // the base leaf's EAX; 0: no base leaf
		want    []kvm.CPUIDEntry
	}{
		{"irqchip", kvmLeaves, true, guestabi.CPUIDTimingLeaf, []kvm.CPUIDEntry{timing}},
		{"no irqchip", kvmLeaves, false, 0x40000001, nil},
		{"no hypervisor leaves", kvmLeaves[:1], true, 0, nil},
		{"base above the timing leaf", []kvm.CPUIDEntry{{Function: guestabi.CPUIDHypervisorBase, EAX: 0x40000020}}, true, 0x40000020, []kvm.CPUIDEntry{timing}},
	} {
		out := FilterCPUID(tc.in, tc.irqchip, 2_100_000)
		var base uint32
		var got []kvm.CPUIDEntry
		for _, e := range out {
			switch e.Function {
			case guestabi.CPUIDHypervisorBase:
				base = e.EAX
			case guestabi.CPUIDTimingLeaf:
				got = append(got, e)
			}
		}
		if base != tc.base || !slices.Equal(got, tc.want) {
			t.Errorf("%s: base leaf EAX %#x, timing leaves %+v; want %#x, %+v", tc.name, base, got, tc.base, tc.want)
		}
	}
}

// SetupMemory zeroes the tables' pages with guestmem's Zero: memory that
// held something gets the same tables as fresh memory, and on fresh
// memory the page directories above the guest's memory are never made
// resident (issue 12: the CLI's peak RSS).
func TestBootTablesZeroed(t *testing.T) {
	const size = 512 << 20
	setup := func(dirty bool) *guestmem.Memory {
		mem, err := guestmem.New(size)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mem.Close() })
		// Small pages whatever the host's THP setting, for mincore.
		if err := unix.Madvise(mem.Host(), unix.MADV_NOHUGEPAGE); err != nil {
			t.Fatal(err)
		}
		if dirty {
			b, err := mem.Writable(PML4Base, PTBase+0x1000-PML4Base)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b {
				b[i] = 0xa5
			}
		}
		if err := SetupMemory(mem); err != nil {
			t.Fatal(err)
		}
		return mem
	}
	fresh, reused := setup(false), setup(true)
	a, _ := fresh.Bytes(PML4Base, PTBase+0x1000-PML4Base)
	b, _ := reused.Bytes(PML4Base, PTBase+0x1000-PML4Base)
	// mincore before reading: a read maps the kernel's zero page, which
	// mincore counts (RSS does not).
	resident, err := guestmem.Resident(a)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range resident {
		gpa := PML4Base + uint64(i)*0x1000
		want := gpa == PML4Base || gpa == PDPTBase || gpa == PDBase || gpa == PTBase
		if got != want {
			t.Errorf("page %#x resident = %v, want %v", gpa, got, want)
		}
	}
	if !bytes.Equal(a, b) {
		t.Error("SetupMemory on reused memory differs from fresh memory")
	}
}
