package guestmem

// Mapping is one run of guest virtual memory mapped to contiguous
// guest-physical memory, as a walk of the guest's page tables finds it
// (x86_64.Mappings, arm64.Mappings); a core file has one segment per run.
type Mapping struct {
	VA, PA, Size uint64
	Writable     bool
}

// AppendMapping appends m to maps, which a walk fills in virtual address
// order, merging it into the last run when the two are contiguous in
// both address spaces and alike in permission: an identity-mapped guest
// is then a handful of runs, not one per page.
func AppendMapping(maps []Mapping, m Mapping) []Mapping {
	if n := len(maps); n > 0 {
		last := &maps[n-1]
		if last.VA+last.Size == m.VA && last.PA+last.Size == m.PA && last.Writable == m.Writable {
			last.Size += m.Size
			return maps
		}
	}
	return append(maps, m)
}
