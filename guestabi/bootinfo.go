package guestabi

// The fixed guest-physical layout both sides rely on. Guest-virtual
// addresses equal guest-physical ones (identity mapping).
const (
	// GuestMinBase is the lowest address an ELF segment or entry point may use.
	GuestMinBase = 0x100000
	// BootInfoAddr is where the monitor writes BootInfo; RDI (x86_64) or x0
	// (aarch64) points here at entry.
	BootInfoAddr = 0x10000
	// ManifestAddr is where the monitor copies the attached manifest.
	ManifestAddr = BootInfoAddr + BootInfoSize
	// CmdlineSize bounds the NUL-terminated command line (8191 characters).
	CmdlineSize = 8192
	// PageSize is the ELF segment alignment the loader enforces.
	PageSize = 0x1000
)

// ABI identification stamped into every hvt unikernel's ABI1 note.
const (
	ABITargetHVT = 1
	ABIVersion   = 2
)

// Host feature bits in BootInfo.HostFeatures.
const (
	// FeatureRingIO announces the shared net ring at BootInfo.NetRing.
	FeatureRingIO = 1 << 0
)

// BootInfoSize is the size of struct hvt_boot_info.
const BootInfoSize = 56

// BootInfo is struct hvt_boot_info, written by the monitor at BootInfoAddr
// and read-only to the guest.
type BootInfo struct {
	MemSize       uint64 // @0 guest memory in bytes, net ring excluded
	KernelEnd     uint64 // @8 end of the last file-backed segment, page aligned
	CPUCycleFreq  uint64 // @16 Hz of the guest's cycle counter (TSC or CNTVCT)
	Cmdline       uint64 // @24 GPA of the NUL-terminated command line
	Manifest      uint64 // @32 GPA of the manifest copy
	HostFeatures  uint32 // @40
	GuestFeatures uint32 // @44
	NetRing       uint64 // @48 GPA of the net ring, or 0
}

// Decode reads bi from b, which holds at least BootInfoSize bytes.
func (bi *BootInfo) Decode(b []byte) {
	bi.MemSize = le.Uint64(b[0:])
	bi.KernelEnd = le.Uint64(b[8:])
	bi.CPUCycleFreq = le.Uint64(b[16:])
	bi.Cmdline = le.Uint64(b[24:])
	bi.Manifest = le.Uint64(b[32:])
	bi.HostFeatures = le.Uint32(b[40:])
	bi.GuestFeatures = le.Uint32(b[44:])
	bi.NetRing = le.Uint64(b[48:])
}

// Encode writes bi into b, which holds at least BootInfoSize bytes.
func (bi *BootInfo) Encode(b []byte) {
	le.PutUint64(b[0:], bi.MemSize)
	le.PutUint64(b[8:], bi.KernelEnd)
	le.PutUint64(b[16:], bi.CPUCycleFreq)
	le.PutUint64(b[24:], bi.Cmdline)
	le.PutUint64(b[32:], bi.Manifest)
	le.PutUint32(b[40:], bi.HostFeatures)
	le.PutUint32(b[44:], bi.GuestFeatures)
	le.PutUint64(b[48:], bi.NetRing)
}

// The net ring (struct hvt_ring), an optional fast path for net I/O that
// unimon does not offer yet. Its layout is part of the ABI all the same.
const (
	RingEntries      = 1024
	RingBufSize      = 2048
	RingSize         = 49280
	RingEntTailOff   = 0  // u32, guest
	RingComHeadOff   = 4  // u32, guest
	RingEntHeadOff   = 64 // u32, host
	RingComTailOff   = 68 // u32, host
	RingNeedsKickOff = 72 // u32, host
	RingEntryOff     = 128
	RingEntrySize    = 32 // {u32 op, u32 handle, u64 data, u32 len, u32 id, u64 reserved}
	RingCommitOff    = 32896
	RingCommitSize   = 16 // {u32 id, i32 ret, u32 len, u32 reserved}
	RingOpNetWrite   = 1
	RingOpNetRead    = 2
)
