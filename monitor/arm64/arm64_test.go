package arm64

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Descriptor values written out in full, so a change to the attribute
// constants shows up here as a changed number.
const (
	wantPageRO    = 0x0060_0000_0000_0793 // page, AF, SH, Normal, PXN, UXN, RDONLY
	wantPageExec  = 0x0040_0000_0000_0713 // page, AF, SH, Normal, UXN
	wantBlockRAM  = 0x0040_0000_0000_0711 // block, AF, SH, Normal, UXN
	wantBlockMMIO = 0x0060_0000_0000_0705 // block, AF, SH, Device-nGnRE, PXN, UXN
)

func tables(t *testing.T, size uint64) (*guestmem.Memory, func(gpa uint64) uint64) {
	t.Helper()
	mem, err := guestmem.New(size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	if err := SetupMemory(mem); err != nil {
		t.Fatal(err)
	}
	return mem, func(gpa uint64) uint64 {
		b, err := mem.Bytes(gpa, 8)
		if err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint64(b)
	}
}

func TestPageTablesSmallGuest(t *testing.T) {
	_, at := tables(t, 2*guestmem.MiB)
	checks := []struct {
		name string
		gpa  uint64
		want uint64
	}{
		{"PGD[0]", PGDBase, PUDBase | 3},
		{"PGD[1]", PGDBase + 8, 0},
		{"PUD[0]", PUDBase, PMDBase | 3},
		{"PUD[1]", PUDBase + 8, 0},
		{"PUD[4] (MMIO)", PUDBase + 4*8, MMIOBase | wantBlockMMIO},
		{"PMD[0]", PMDBase, PTEBase | 3},
		{"PMD[1] (beyond 2 MiB)", PMDBase + 8, 0},
		{"PTE[0] (zero page)", PTEBase, 0},
		{"PTE[1] (PGD)", PTEBase + 8, 0},
		{"PTE[15]", PTEBase + 15*8, 0},
		{"PTE[16] (boot info)", PTEBase + 16*8, 0x10000 | wantPageRO},
		{"PTE[255]", PTEBase + 255*8, 0xff000 | wantPageRO},
		{"PTE[256] (ELF base)", PTEBase + 256*8, 0x100000 | wantPageExec},
		{"PTE[511]", PTEBase + 511*8, 0x1ff000 | wantPageExec},
	}
	for _, c := range checks {
		if got := at(c.gpa); got != c.want {
			t.Errorf("%s at %#x = %#x, want %#x", c.name, c.gpa, got, c.want)
		}
	}
}

func TestPageTablesFullGuest(t *testing.T) {
	_, at := tables(t, guestmem.MaxSize)
	for i := uint64(0); i < 4; i++ {
		if got, want := at(PUDBase+8*i), (PMDBase+i*PageSize)|3; got != want {
			t.Errorf("PUD[%d] = %#x, want %#x", i, got, want)
		}
	}
	if got := at(PUDBase + 4*8); got != MMIOBase|wantBlockMMIO {
		t.Errorf("PUD[4] = %#x, want the MMIO block", got)
	}
	// Every 2 MiB block but the first, in order across the four PMD pages.
	for i := uint64(1); i < 2048; i++ {
		if got, want := at(PMDBase+8*i), i<<21|wantBlockRAM; got != want {
			t.Fatalf("PMD entry %d = %#x, want %#x", i, got, want)
		}
	}
}

func TestPageTablesPartialGiB(t *testing.T) {
	// 1 GiB + 2 MiB needs a second PUD entry with a single block in it.
	_, at := tables(t, 1<<30+2*guestmem.MiB)
	if got := at(PUDBase + 8); got != (PMDBase+PageSize)|3 {
		t.Errorf("PUD[1] = %#x", got)
	}
	if got := at(PMDBase + 512*8); got != 1<<30|wantBlockRAM {
		t.Errorf("PMD[512] = %#x", got)
	}
	if got := at(PMDBase + 513*8); got != 0 {
		t.Errorf("PMD[513] = %#x, want unmapped", got)
	}
	if got := at(PUDBase + 2*8); got != 0 {
		t.Errorf("PUD[2] = %#x, want unmapped", got)
	}
}

func TestRegisterValues(t *testing.T) {
	// Values computed from upstream's macro definitions (TCR_EL1_INIT,
	// MAIR_EL1_INIT, AARCH64_PSTATE_INIT).
	if TCR != 0x32_b518_3518 {
		t.Errorf("TCR = %#x", uint64(TCR))
	}
	if MAIR != 0xbbff_440c_0400 {
		t.Errorf("MAIR = %#x", uint64(MAIR))
	}
	if PSTATE != 0x3c5 || SCTLR != 0x1005 {
		t.Errorf("PSTATE = %#x, SCTLR = %#x", PSTATE, SCTLR)
	}
	if got := CPACR(0x10_0000 | 1<<28); got != 0x30_0000|1<<28 {
		t.Errorf("CPACR kept or lost the wrong bits: %#x", got)
	}
	// IDs from the kernel's headers: x0 is core word 0, pc word 64,
	// sp_el1 word 68; SCTLR_EL1 is sysreg 3,0,1,0,0.
	ids := map[string][2]uint64{
		"x0":        {RegX(0), 0x6030_0000_0010_0000},
		"x30":       {RegX(30), 0x6030_0000_0010_003c},
		"sp":        {RegSPEL0, 0x6030_0000_0010_003e},
		"pc":        {RegPC, 0x6030_0000_0010_0040},
		"v0":        {RegV(0), 0x6040_0000_0010_0054},
		"v31":       {RegV(31), 0x6040_0000_0010_00d0},
		"fpsr":      {RegFPSR, 0x6020_0000_0010_00d4},
		"fpcr":      {RegFPCR, 0x6020_0000_0010_00d5},
		"TTBR0_EL1": {RegTTBR0EL1, 0x6030_0000_0013_c100},
		"pstate":    {RegPSTATE, 0x6030_0000_0010_0042},
		"sp_el1":    {RegSPEL1, 0x6030_0000_0010_0044},
		"SCTLR_EL1": {RegSCTLREL1, 0x6030_0000_0013_c080},
		"TCR_EL1":   {RegTCREL1, 0x6030_0000_0013_c102},
		"MAIR_EL1":  {RegMAIREL1, 0x6030_0000_0013_c510},
	}
	for name, v := range ids {
		if v[0] != v[1] {
			t.Errorf("%s ID = %#x, want %#x", name, v[0], v[1])
		}
	}
	regs := EntryRegs(0x100000, 512*guestmem.MiB)
	if last := regs[len(regs)-1]; last.ID != RegPC || last.Value != 0x100000 {
		t.Errorf("last entry register is %+v, want PC = entry", last)
	}
	for _, r := range regs {
		if r.ID == RegSPEL1 && r.Value != 512*guestmem.MiB-16 {
			t.Errorf("SP_EL1 = %#x", r.Value)
		}
		if r.ID == RegX(0) && r.Value != guestabi.BootInfoAddr {
			t.Errorf("x0 = %#x", r.Value)
		}
	}
}

func TestDecodeHypercall(t *testing.T) {
	arg := []byte{0x78, 0x56, 0x34, 0x12}
	for nr := uint64(1); nr < guestabi.NumHypercalls; nr++ {
		gotNr, gotArg, err := DecodeHypercall(MMIOBase+nr*8, true, arg)
		if err != nil || gotNr != nr || gotArg != 0x12345678 {
			t.Errorf("nr %d: got %d, %#x, %v", nr, gotNr, gotArg, err)
		}
	}
	bad := []struct {
		name  string
		addr  uint64
		write bool
		data  []byte
	}{
		{"nr 0", MMIOBase, true, arg},
		{"nr 9", MMIOBase + 9*8, true, arg},
		{"ring kick without a ring", guestabi.MMIORingKick, true, arg},
		{"misaligned", MMIOBase + 8 + 4, true, arg},
		{"read", MMIOBase + 8, false, arg},
		{"8-byte store", MMIOBase + 8, true, make([]byte, 8)},
		{"1-byte store", MMIOBase + 8, true, arg[:1]},
		{"below the window", MMIOBase - 8, true, arg},
		{"above the window", MMIOBase + MMIOSize, true, arg},
		{"far away", 0xdead_0000_0000, true, arg},
	}
	for _, c := range bad {
		if _, _, err := DecodeHypercall(c.addr, c.write, c.data); !errors.Is(err, ErrMMIO) {
			t.Errorf("%s: err = %v, want ErrMMIO", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}

func TestCheckHostPageSize(t *testing.T) {
	if err := CheckHostPageSize(4096); err != nil {
		t.Error(err)
	}
	for _, s := range []int{16384, 65536} {
		if err := CheckHostPageSize(s); !errors.Is(err, ErrHostPageSize) {
			t.Errorf("%d: %v", s, err)
		}
	}
}

// TestStackPointer: the core's sp is the one the mode in PSTATE uses.
func TestStackPointer(t *testing.T) {
	const sp0, sp1 = 0x1000, 0x2000
	for _, tt := range []struct {
		name   string
		pstate uint64
		want   uint64
	}{
		{"EL1h, as the guest starts", PSTATE, sp1},
		{"EL1t", PSTATE&^0xf | 4, sp0},
		{"EL0t, where the Go bindings' kernel and program run", 0, sp0},
	} {
		if got := StackPointer(tt.pstate, sp0, sp1); got != tt.want {
			t.Errorf("%s: StackPointer(%#x) = %#x, want %#x", tt.name, tt.pstate, got, tt.want)
		}
	}
}

// SetupMemory zeroes the tables' pages (with guestmem's Zero, which
// leaves fresh memory untouched): memory that held something gets the
// same tables as fresh memory.
func TestPageTablesOnReusedMemory(t *testing.T) {
	const size = 64 << 20
	fresh, _ := tables(t, size)
	reused, err := guestmem.New(size)
	if err != nil {
		t.Fatal(err)
	}
	defer reused.Close()
	dirty, err := reused.Writable(PGDBase, PTEBase+PageSize-PGDBase)
	if err != nil {
		t.Fatal(err)
	}
	for i := range dirty {
		dirty[i] = 0xa5
	}
	if err := SetupMemory(reused); err != nil {
		t.Fatal(err)
	}
	a, _ := fresh.Bytes(PGDBase, PTEBase+PageSize-PGDBase)
	b, _ := reused.Bytes(PGDBase, PTEBase+PageSize-PGDBase)
	if !bytes.Equal(a, b) {
		t.Error("SetupMemory on reused memory differs from fresh memory")
	}
}
