//go:build linux

package bindings

import "unsafe"

// The file tree: a read-only tree of directories and files that `unimon
// build --files DIR` (and `unimon test`, with the package's directory)
// packs into the image (internal/gobuild/files.go writes the format);
// it is the root mount "/", and the working directory starts at the
// directory the image names. Its bytes are in the loaded image, identity
// mapped, so a read is a copy. An image without files has an empty root.
//
// The format, little endian: a header (magic "unimonF1", node count u32,
// working directory length u32 and offset u64), then 32-byte nodes
// (parent index u32, name offset u32, name length u32, mode u32, data
// offset u64, size u64; node 0 is the root), then names and data.
// Offsets are from the start of the tree.

const (
	treeMagic    = 0x3146_6e6f_6d69_6e75 // "unimonF1"
	treeHdrSize  = 24
	treeNodeSize = 32
)

var (
	treeBase  uintptr // 0: no tree
	treeLen   uintptr
	treeCount uint32
)

var treeOps = fsOps{open: treeOpen, stat: treeStat}

// initTree finds the tree the build recorded and makes its working
// directory the process's.
func initTree() {
	base, n := uintptr(buildInfo[5]), uintptr(buildInfo[6])
	if base == 0 || n < treeHdrSize || base+n > memSize || *u64at(base) != treeMagic {
		return
	}
	count := *(*uint32)(ptr(base + 8))
	if uintptr(count) > (n-treeHdrSize)/treeNodeSize {
		return
	}
	treeBase, treeLen, treeCount = base, n, count
	cl, co := uintptr(*(*uint32)(ptr(base + 12))), uintptr(*u64at(base + 16))
	if cl > 0 && cl < pathMax && co+cl <= n {
		cwdLen = copy(cwd[:], unsafe.Slice((*byte)(ptr(base+co)), cl))
	}
}

type treeNode struct {
	parent, nameOff, nameLen, mode uint32
	dataOff, size                  uint64
}

// treeAt returns node i (the caller checked i < treeCount).
func treeAt(i uint32) *treeNode {
	return (*treeNode)(ptr(treeBase + treeHdrSize + uintptr(i)*treeNodeSize))
}

func treeName(n *treeNode) []byte {
	if uintptr(n.nameOff)+uintptr(n.nameLen) > treeLen {
		return nil
	}
	return unsafe.Slice((*byte)(ptr(treeBase+uintptr(n.nameOff))), n.nameLen)
}

// treeLookup returns the node of rel, or a negative errno.
func treeLookup(rel []byte) int64 {
	if treeCount == 0 {
		if len(rel) == 0 {
			return 0
		}
		return -_ENOENT
	}
	node := uint32(0)
	for i := 0; i < len(rel); {
		var c []byte
		c, i = component(rel, i)
		if treeAt(node).mode&_S_IFMT != _S_IFDIR {
			return -_ENOTDIR
		}
		next := int64(-_ENOENT)
		for k := uint32(1); k < treeCount; k++ {
			if n := treeAt(k); n.parent == node && string(treeName(n)) == string(c) {
				next = int64(k)
				break
			}
		}
		if next < 0 {
			return next
		}
		node = uint32(next)
	}
	return int64(node)
}

func treeNodeStat(i uint32) statInfo {
	mode, size := uint64(_S_IFDIR|0o555), uint64(0)
	if treeCount > 0 {
		n := treeAt(i)
		mode, size = uint64(n.mode), n.size
	}
	return statInfo{mode: mode, size: size, blksize: pageSize, blocks: (size + 511) / 512, ino: uint64(i) + 1, dev: treeDev, nlink: 1}
}

func treeStat(rel []byte) (statInfo, int64) {
	i := treeLookup(rel)
	if i < 0 {
		return statInfo{}, i
	}
	return treeNodeStat(uint32(i)), 0
}

func treeOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	i := treeLookup(rel)
	switch {
	case i >= 0 && flags&(_O_CREAT|_O_EXCL) == _O_CREAT|_O_EXCL:
		return -_EEXIST
	case i == -_ENOENT && flags&_O_CREAT != 0:
		return -_EROFS
	case i < 0:
		return i
	case flags&_O_ACCMODE != _O_RDONLY || flags&_O_TRUNC != 0:
		if treeNodeStat(uint32(i)).mode&_S_IFMT == _S_IFDIR {
			return -_EISDIR
		}
		return -_EROFS
	}
	dir := treeNodeStat(uint32(i)).mode&_S_IFMT == _S_IFDIR
	if !dir && flags&_O_DIRECTORY != 0 {
		return -_ENOTDIR
	}
	kind := uint32(fdTreeFile)
	if dir {
		kind = fdTreeDir
	}
	fd := fdAlloc(kind)
	if fd >= 0 {
		fdAt(fd).handle = uint32(i)
		fdAt(fd).flags = uint32(flags & (_O_ACCMODE | _O_NONBLOCK))
	}
	return fd
}

func treeRead(e *fdEntry, buf, cnt uintptr, off int64, at bool) int64 {
	pos, ok := ioPos(e, off, at)
	if !ok {
		return -_EINVAL
	}
	n := treeAt(e.handle)
	if pos >= n.size {
		return 0
	}
	c := min(uint64(cnt), n.size-pos)
	if n.dataOff+n.size > uint64(treeLen) {
		return -_EIO
	}
	if !copyOut(buf, ptr(treeBase+uintptr(n.dataOff+pos)), uintptr(c)) {
		return -_EFAULT
	}
	if !at {
		e.pos += c
	}
	return int64(c)
}

func treeFdStat(e *fdEntry) statInfo { return treeNodeStat(e.handle) }

func treeSeek(e *fdEntry, off int64, whence int) int64 {
	return seekTo(e, off, whence, int64(treeNodeStat(e.handle).size))
}

func treeGetdents(e *fdEntry, buf, n uintptr) int64 {
	b := direntBuf{va: buf, room: n}
	for e.pos = max(e.pos, 1); e.pos < uint64(treeCount); e.pos++ {
		c := treeAt(uint32(e.pos))
		if c.parent == e.handle && !b.add(e.pos+1, c.mode, treeName(c)) {
			break
		}
	}
	return b.result()
}
