//go:build linux && (amd64 || arm64)

package bindings

import "unsafe"

// The in-memory vDSO: just enough ELF for the Go runtime's vDSO parser
// (runtime/vdso_linux.go) to find the architecture's clock_gettime
// (vdsoSymbol, version vdsoVersion) through a PT_LOAD, a PT_DYNAMIC,
// DT_HASH, DT_SYMTAB and DT_STRTAB. The symbol's value is relative to the
// image, and the function, vdsoClockGettime, lives in the bindings' text:
// it reads the counter and the time parameters at vdsoData (time.go)
// without trapping, which matters because the Go scheduler reads the
// clock at nearly every turn.
func initVDSO() {
	img := (*[vdsoMax]byte)(ptr(vdsoImage))
	clear(img[:])
	const (
		phOff   = 64
		dynOff  = 256
		symOff  = 384
		hashOff = 448
		strOff  = 480
		verOff  = 544
	)
	le64 := func(off int, v uint64) { *(*uint64)(unsafe.Pointer(&img[off])) = v }
	le32 := func(off int, v uint32) { *(*uint32)(unsafe.Pointer(&img[off])) = v }
	le16 := func(off int, v uint16) { *(*uint16)(unsafe.Pointer(&img[off])) = v }
	copy(img[:], "\x7fELF\x02\x01\x01")
	le16(16, 3) // ET_DYN
	le16(18, vdsoMachine)
	le32(20, 1)
	le64(32, phOff)
	le16(52, 64)
	le16(54, 56)
	le16(56, 2)
	// PT_LOAD at offset 0, vaddr 0: load offset = image address.
	le32(phOff, 1)
	le32(phOff+4, 5)
	le64(phOff+32, vdsoMax)
	le64(phOff+40, vdsoMax)
	le64(phOff+48, pageSize)
	// PT_DYNAMIC.
	le32(phOff+56, 2)
	le32(phOff+60, 4)
	le64(phOff+56+8, dynOff)
	le64(phOff+56+16, dynOff)
	le64(phOff+56+32, 64)
	le64(phOff+56+40, 64)
	// DT_HASH 4, DT_STRTAB 5, DT_SYMTAB 6, DT_VERDEF, DT_NULL. Go 1.26
	// follows DT_VERDEF unconditionally once the image is valid, so it
	// gets one version, vdsoVersion, which the runtime looks for.
	le64(dynOff, 4)
	le64(dynOff+8, hashOff)
	le64(dynOff+16, 5)
	le64(dynOff+24, strOff)
	le64(dynOff+32, 6)
	le64(dynOff+40, symOff)
	le64(dynOff+48, 0x6ffffffc)
	le64(dynOff+56, verOff)
	// Elf64_Verdef {version 1, flags 0, ndx 2, cnt 1, hash, aux 20, next 0}
	// and its Elf64_Verdaux {name vdsoVersion, next 0}.
	le16(verOff, 1)
	le16(verOff+4, 2)
	le16(verOff+6, 1)
	le32(verOff+8, vdsoVersionHash)
	le32(verOff+12, 20)
	le32(verOff+20, uint32(len(vdsoSymbol)+2)) // offset in the string table
	// Symbol 1: vdsoSymbol, global function, defined.
	le32(symOff+24, 1)
	img[symOff+24+4] = 0x12
	le16(symOff+24+6, 1)
	le64(symOff+24+8, uint64(vdsoEntry()-vdsoImage))
	// One bucket holding symbol 1; chain ends.
	le32(hashOff, 1)
	le32(hashOff+4, 2)
	le32(hashOff+8, 1)
	copy(img[copy(img[strOff+1:], vdsoSymbol)+strOff+2:], vdsoVersion)
}
