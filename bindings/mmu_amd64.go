//go:build linux && amd64

package bindings

// Page tables on amd64: four levels of 512 entries, the kernel's identity
// map of RAM in 2 MiB pages (except the first 2 MiB, see initLowPages),
// the program's pages in 4 KiB pages above 4 GiB.

const (
	ptePresent = 1
	pteWrite   = 2
	pteUser    = 4
	ptePS      = 0x80
	pteAddr    = 0x000ffffffffff000
)

// privateEnd is where the bindings' private memory (and the 4 KiB pages
// of the first 2 MiB) ends: free frames start at the image end or here.
const privateEnd = 0x200000

// pteValid reports whether a last-level entry maps a page.
func pteValid(e uint64) bool { return e&ptePresent != 0 }

// pteFrame is the physical page a valid entry maps.
func pteFrame(e uint64) uintptr { return uintptr(e & pteAddr) }

// pteUserPage is the entry mapping frame pa for the program, writable
// or read-only.
func pteUserPage(pa uintptr, write bool) uint64 {
	if !write {
		return uint64(pa) | ptePresent | pteUser
	}
	return uint64(pa) | ptePresent | pteWrite | pteUser
}

// pteNoAccess maps frame pa so that the program cannot touch it
// (PROT_NONE over pages that keep their data); the kernel still can.
func pteNoAccess(pa uintptr) uint64 { return uint64(pa) | ptePresent }

// walk returns the level-1 entry for va, creating the tables on the way
// when create is set; nil when a table is missing (or RAM is exhausted).
func walk(va uintptr, create bool) *uint64 {
	table := uintptr(pml4Base)
	for shift := uint(39); shift > 12; shift -= 9 {
		e := u64at(table + (va>>shift&511)*8)
		if *e&ptePresent == 0 {
			if !create {
				return nil
			}
			pa := allocTable()
			if pa == 0 {
				outOfMemory()
			}
			*e = uint64(pa) | ptePresent | pteWrite | pteUser
		}
		if *e&ptePS != 0 {
			return nil // identity map, never the program's
		}
		table = uintptr(*e & pteAddr)
	}
	return u64at(table + (va>>12&511)*8)
}

// initLowPages maps the first 2 MiB with 4 KiB pages so that page 0 (nil
// dereferences) and the page below the kernel stack fault.
func initLowPages() {
	pt := (*[512]uint64)(ptr(pt0Base))
	for i := range pt {
		a := uint64(i) << 12
		if i == 0 || a == guardPage {
			pt[i] = 0
			continue
		}
		pt[i] = a | 7
	}
	*u64at(pdBase) = pt0Base | 7
	kcall(kFlush, 0, 0)
}
