//go:build linux

package bindings

import "unsafe"

// Physical frames: [frameNext, frameEnd) was never used; below zeroEnd
// it is still zero, as the tender gave it (fresh anonymous memory: the
// ABI's .bss relies on the same). Freed frames form a list threaded
// through their first word.
var (
	frameNext, frameEnd uintptr
	zeroEnd             uintptr
	freeList            uintptr
	framesInUse         uint64
	framesTotal         uint64
	framesPeak          uint64
	needFlush           bool
)

func initFrames() {
	frameNext = (uintptr(buildInfo[3]) + pageSize - 1) &^ (pageSize - 1)
	frameEnd = memSize &^ (pageSize - 1)
	if frameNext < privateEnd {
		frameNext = privateEnd
	}
	framesTotal = uint64(frameEnd-frameNext) / pageSize
	zeroEnd = max(frameNext, frameEnd-bootStackReserve)
}

// bootStackReserve is the top of RAM, where the tender points the boot
// stack (solo5-hvt: mem_size - 8): frames there may have been written
// before the bindings ran, so they are zeroed like freed ones.
const bootStackReserve = 64 << 10

// allocFrame returns a zeroed frame, or 0 when RAM is exhausted. A frame
// never used and still as the tender gave it is not written: zeroing it
// would make the host fault in, and KVM map, a page the program may never
// touch (fault-around maps up to maxFaultAround frames at once). Measured
// on the Go hello: 800 guest pages resident on the host against 696,
// 6.7 against 6.2 MB of peak RSS. Other frames are zeroed here, at CPL3,
// where it is native speed.
func allocFrame() uintptr {
	var pa uintptr
	fresh := false
	if freeList != 0 {
		pa = freeList
		freeList = uintptr(*u64at(pa))
	} else if frameNext < frameEnd {
		pa = frameNext
		frameNext += pageSize
		fresh = pa < zeroEnd
	} else {
		return 0
	}
	if !fresh {
		clear((*[pageSize]byte)(ptr(pa))[:])
	}
	framesInUse++
	framesPeak = max(framesPeak, framesInUse)
	return pa
}

// allocTable returns a zeroed frame for a page table, or 0 when RAM is
// exhausted. walk reads a table it has just installed before anything
// is written to it; when the frame was never used it is still the host's
// untouched anonymous memory, and that read makes the host map its
// shared zero page, so the entry written next costs a host
// copy-on-write fault: a TLB shootdown, an MMU-notifier invalidation
// that drops KVM's mapping of the page, and a second guest fault
// (measured on the Go hello: 18 of its 47 such faults, 1.8-2.1 ms of a
// 52 ms boot under nested KVM). Writing the first word, which is zero
// already, makes the host allocate the page writable at once, as the
// entry written next would anyway.
func allocTable() uintptr {
	pa := allocFrame()
	if pa != 0 {
		*u64at(pa) = 0
	}
	return pa
}

func freeFrame(pa uintptr) {
	*u64at(pa) = uint64(freeList)
	freeList = pa
	framesInUse--
}

const (
	userMin = 4 << 30               // the program's mappings live above the identity map
	userMax = 0x0000_7fff_ffff_f000 // the lower half of a 48-bit address space
)

// VMAs: address ranges the program mapped, page aligned, not sorted.
type vma struct {
	start, end uintptr
	prot       uint32
}

const maxVMAs = 1024

var (
	vmas    [maxVMAs]vma
	nvmas   int
	mmapTop uintptr = 0x7f00_0000_0000
)

func findVMA(va uintptr) int {
	for i := 0; i < nvmas; i++ {
		if va >= vmas[i].start && va < vmas[i].end {
			return i
		}
	}
	return -1
}

func overlaps(start, end uintptr) bool {
	for i := 0; i < nvmas; i++ {
		if start < vmas[i].end && vmas[i].start < end {
			return true
		}
	}
	return false
}

// vmaRemove takes [start, end) out of the table, splitting VMAs that
// straddle it. It reports false when the table is full.
func vmaRemove(start, end uintptr) bool {
	for i := 0; i < nvmas; i++ {
		v := vmas[i]
		if end <= v.start || v.end <= start {
			continue
		}
		switch {
		case start <= v.start && v.end <= end:
			vmas[i] = vmas[nvmas-1]
			nvmas--
			i--
		case v.start < start && end < v.end:
			if nvmas == maxVMAs {
				return false
			}
			vmas[i].end = start
			vmas[nvmas] = vma{end, v.end, v.prot}
			nvmas++
		case v.start < start:
			vmas[i].end = start
		default:
			vmas[i].start = end
		}
	}
	return true
}

func vmaAdd(start, end uintptr, prot uint32) bool {
	if !vmaRemove(start, end) {
		return false
	}
	// Extend a neighbour with the same protection rather than add one.
	for i := 0; i < nvmas; i++ {
		if vmas[i].prot != prot {
			continue
		}
		if vmas[i].end == start {
			vmas[i].end = end
			return true
		}
		if vmas[i].start == end {
			vmas[i].start = start
			return true
		}
	}
	if nvmas == maxVMAs {
		return false
	}
	vmas[nvmas] = vma{start, end, prot}
	nvmas++
	return true
}

// release drops the frames of [start, end) so that the next touch gets
// zeroes: munmap, MADV_DONTNEED and MAP_FIXED over old pages.
func release(start, end uintptr) {
	for va := start; va < end; {
		// Skip whole missing tables quickly.
		if e := walk(va, false); e != nil {
			if pteValid(*e) {
				freeFrame(pteFrame(*e))
				*e = 0
				needFlush = true
			}
			va += pageSize
			continue
		}
		va = (va + 1<<21) &^ (1<<21 - 1)
	}
}

// pageFault maps a zeroed page at va when va lies in a readable VMA;
// protection says the page was there and the access was not allowed.
func pageFault(va uintptr, protection bool) bool {
	stats.faults++
	i := findVMA(va)
	if i < 0 || vmas[i].prot == 0 {
		return false
	}
	e := walk(va, true)
	if pteValid(*e) {
		return !protection // a stale TLB entry, or a real protection fault
	}
	pa := allocFrame()
	if pa == 0 {
		outOfMemory()
	}
	write := vmas[i].prot&_PROT_WRITE != 0
	*e = pteUserPage(pa, write)
	// Fault around: map the rest of the aligned block of faultWindow
	// pages too (same page table, same VMA). A trap costs far more than
	// zeroing a few pages, and Go's heap is touched in runs. The window
	// doubles while each fault lands just past the last block (a stack
	// being copied, an arena being filled), up to maxFaultAround, as
	// Linux's readahead grows for a file read in sequence.
	if va&^(faultWindow*pageSize-1) != faultNext {
		faultWindow = faultAround
	} else {
		faultWindow = min(2*faultWindow, maxFaultAround)
	}
	blk := va &^ (faultWindow*pageSize - 1)
	faultNext = blk + faultWindow*pageSize
	first := (*[512]uint64)(ptr(uintptr(unsafe.Pointer(e)) &^ (pageSize - 1)))
	for a := max(blk, vmas[i].start); a < faultNext && a < vmas[i].end; a += pageSize {
		pe := &first[a>>12&511]
		if pteValid(*pe) {
			continue
		}
		pa := allocFrame()
		if pa == 0 {
			break
		}
		*pe = pteUserPage(pa, write)
	}
	return true
}

// faultAround is how many pages a demand fault maps at once (measured:
// halves the traps of a hello and of a heap-churning program, for about
// twice the pages touched).
const faultAround = 8

// maxFaultAround bounds the window of a run of faults in sequence
// (measured: halves the page faults of a goroutine stack growing to 64
// MiB, for the same pages touched).
const maxFaultAround = 128

var faultWindow, faultNext uintptr = faultAround, 0

// translate returns the physical address of the program's va, faulting
// the page in when it is mapped but not yet touched; 0 if unmapped.
func translate(va uintptr) uintptr {
	if va < memSize && va >= pageSize {
		return va // identity map (kernel image, data, bss)
	}
	e := walk(va, false)
	if e == nil || !pteValid(*e) {
		if !pageFault(va, false) {
			return 0
		}
		e = walk(va, false)
	}
	return pteFrame(*e) | va&(pageSize-1)
}

// copyIn and copyOut move bytes between the program's memory and the
// kernel, page by page; they report false on an unmapped address.
func copyOut(dst uintptr, src unsafe.Pointer, n uintptr) bool {
	for n > 0 {
		pa := translate(dst)
		if pa == 0 {
			return false
		}
		c := min(n, pageSize-dst&(pageSize-1))
		copy(unsafe.Slice((*byte)(ptr(pa)), c), unsafe.Slice((*byte)(src), c))
		dst += c
		src = unsafe.Add(src, c)
		n -= c
	}
	return true
}

func copyIn(dst unsafe.Pointer, src uintptr, n uintptr) bool {
	for n > 0 {
		pa := translate(src)
		if pa == 0 {
			return false
		}
		c := min(n, pageSize-src&(pageSize-1))
		copy(unsafe.Slice((*byte)(dst), c), unsafe.Slice((*byte)(ptr(pa)), c))
		src += c
		dst = unsafe.Add(dst, c)
		n -= c
	}
	return true
}

func putU64(va uintptr, v uint64) bool { return copyOut(va, unsafe.Pointer(&v), 8) }

func getU64(va uintptr) (uint64, bool) {
	var v uint64
	ok := copyIn(unsafe.Pointer(&v), va, 8)
	return v, ok
}

func getU32(va uintptr) (uint32, bool) {
	var v uint32
	ok := copyIn(unsafe.Pointer(&v), va, 4)
	return v, ok
}

func outOfMemory() {
	puts("unimon bindings: out of memory (guest RAM exhausted)\n")
	halt(255)
}

const (
	_PROT_READ     = 1
	_PROT_WRITE    = 2
	_MAP_FIXED     = 0x10
	_MAP_ANONYMOUS = 0x20
	_MAP_NORESERVE = 0x4000
	_MADV_DONTNEED = 4
	_MADV_FREE     = 8
	_MADV_REMOVE   = 9
)

func sysMmap(t *thread, a sysArgs) (int64, sysResult) {
	return done(mmap(a[0], a[1], uint32(a[2]), uint32(a[3])))
}

// mmap maps anonymous memory (the only kind there is).
func mmap(addr, length uintptr, prot, flags uint32) int64 {
	if flags&_MAP_ANONYMOUS == 0 {
		return -_EBADF
	}
	if length == 0 || length > userMax {
		return -_EINVAL
	}
	n := (length + pageSize - 1) &^ (pageSize - 1)
	if addr&(pageSize-1) != 0 {
		if flags&_MAP_FIXED != 0 {
			return -_EINVAL
		}
		addr = 0
	}
	usable := func(a uintptr) bool { return a >= userMin && a+n > a && a+n <= userMax }
	switch {
	case flags&_MAP_FIXED != 0:
		if !usable(addr) {
			return -_ENOMEM
		}
		release(addr, addr+n) // MAP_FIXED replaces: the new pages read as zero
	case addr != 0 && usable(addr) && !overlaps(addr, addr+n):
	default:
		// Top-down below the last placement, skipping mappings.
		a := (mmapTop - n) &^ (pageSize - 1)
		for a >= userMin && overlaps(a, a+n) {
			a -= 1 << 30
		}
		if a < userMin {
			return -_ENOMEM
		}
		mmapTop = a
		addr = a
	}
	if !vmaAdd(addr, addr+n, prot&(_PROT_READ|_PROT_WRITE)) {
		return -_ENOMEM
	}
	return int64(addr)
}
func sysMprotect(t *thread, a sysArgs) (int64, sysResult) {
	return done(mprotect(a[0], a[1], uint32(a[2])))
}

// mprotect changes the protection of mapped pages: the VMAs' (page
// faults map pages by it) and that of the pages already there.
func mprotect(addr, length uintptr, prot uint32) int64 {
	if addr&(pageSize-1) != 0 {
		return -_EINVAL
	}
	n := (length + pageSize - 1) &^ (pageSize - 1)
	if n == 0 {
		return 0
	}
	if addr < userMin || addr+n > userMax || addr+n < addr {
		return -_ENOMEM
	}
	for va := addr; va < addr+n; va += pageSize {
		if findVMA(va) < 0 {
			return -_ENOMEM // Linux: part of the range is not mapped
		}
	}
	prot &= _PROT_READ | _PROT_WRITE
	if !vmaAdd(addr, addr+n, prot) {
		return -_ENOMEM
	}
	for va := addr; va < addr+n; {
		e := walk(va, false)
		if e == nil {
			va = (va + 1<<21) &^ (1<<21 - 1)
			continue
		}
		if pteValid(*e) {
			if prot == 0 {
				*e = pteNoAccess(pteFrame(*e))
			} else {
				*e = pteUserPage(pteFrame(*e), prot&_PROT_WRITE != 0)
			}
			needFlush = true
		}
		va += pageSize
	}
	return 0
}

func sysMunmap(t *thread, a sysArgs) (int64, sysResult) { return done(munmap(a[0], a[1])) }

func munmap(addr, length uintptr) int64 {
	if addr&(pageSize-1) != 0 || length == 0 {
		return -_EINVAL
	}
	n := (length + pageSize - 1) &^ (pageSize - 1)
	if addr < userMin || addr+n > userMax {
		return -_EINVAL
	}
	release(addr, addr+n)
	if !vmaRemove(addr, addr+n) {
		return -_ENOMEM
	}
	return 0
}
func sysMadvise(t *thread, a sysArgs) (int64, sysResult) {
	return done(madvise(a[0], a[1], int(a[2])))
}

func madvise(addr, length uintptr, advice int) int64 {
	switch advice {
	case _MADV_DONTNEED, _MADV_FREE, _MADV_REMOVE:
		// Really drop the pages: the runtime assumes they read as zero
		// afterwards (GODEBUG madvdontneed=1, the default).
		if addr&(pageSize-1) != 0 {
			return -_EINVAL
		}
		n := (length + pageSize - 1) &^ (pageSize - 1)
		if addr >= userMin && addr+n <= userMax {
			release(addr, addr+n)
		}
	}
	return 0
}

// sysMincore: everything is resident.
func sysMincore(t *thread, a sysArgs) (int64, sysResult) { return done(mincore(a[1], a[2])) }

func mincore(length, vec uintptr) int64 {
	var ones [64]byte
	for i := range ones {
		ones[i] = 1
	}
	pages := (length + pageSize - 1) / pageSize
	for pages > 0 {
		c := min(pages, 64)
		if !copyOut(vec, unsafe.Pointer(&ones), c) {
			return -_EFAULT
		}
		vec += c
		pages -= c
	}
	return 0
}
