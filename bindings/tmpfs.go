//go:build linux

package bindings

import "unsafe"

// tmpfs: the writable in-memory file system mounted at /tmp (vfs.go), as
// Linux distributions mount one: os.CreateTemp, os.MkdirTemp and
// testing's t.TempDir work in it. Files and directories are nodes in a
// fixed table (node 0 is /tmp itself); a file's data is in guest RAM
// frames reached through a two-level table (a frame of 512 addresses of
// frames of 512 data page addresses: 1 GiB per file at most), holes read
// as zeros, and an unlinked file lives until its last fd is closed.
// Symbolic links keep their target in their first data page; there are
// no hard links.

const (
	tmpMaxNodes = 4096
	tmpNameMax  = 255
	tmpMaxSize  = 512 * 512 * pageSize
)

type tmpNode struct {
	mode    uint32 // 0: a free node
	parent  int32  // -1: unlinked
	opens   uint32 // fds open on it
	nameLen uint32
	size    uint64
	root    uintptr // the first-level table frame, 0 until written
	mtime   int64   // wall clock, ns
	name    [tmpNameMax]byte
}

var tmpNodes [tmpMaxNodes]tmpNode

var tmpfsOps = fsOps{open: tmpOpen, stat: tmpStat, mkdir: tmpMkdir, mknod: tmpMknod, unlink: tmpUnlink, rename: tmpRename,
	readlink: tmpReadlink, symlink: tmpSymlink}

func initTmpfs() {
	tmpNodes[0] = tmpNode{mode: _S_IFDIR | 0o1777, mtime: wallNow()}
}

func wallNow() int64 { return now() + int64(tp().wall0) }

// tmpChild returns the node named c in directory dir, or -1.
func tmpChild(dir int32, c []byte) int32 {
	for i := range tmpNodes {
		n := &tmpNodes[i]
		if n.mode != 0 && n.parent == dir && i != 0 && string(n.name[:n.nameLen]) == string(c) {
			return int32(i)
		}
	}
	return -1
}

// tmpWalk finds rel's parent directory and the last component; the
// node is -1 if the last component does not exist (the parent does).
func tmpWalk(rel []byte) (parent, node int32, last []byte, errno int64) {
	node = 0
	parent = -1
	for i := 0; i < len(rel); {
		var c []byte
		c, i = component(rel, i)
		if node < 0 {
			return 0, 0, nil, -_ENOENT
		}
		if tmpNodes[node].mode&_S_IFMT != _S_IFDIR {
			return 0, 0, nil, -_ENOTDIR
		}
		if len(c) > tmpNameMax {
			return 0, 0, nil, -_ENAMETOOLONG
		}
		parent, last = node, c
		node = tmpChild(node, c)
	}
	return parent, node, last, 0
}

// tmpNew takes a free node for last in dir.
func tmpNew(dir int32, last []byte, mode uint32) int32 {
	for i := 1; i < tmpMaxNodes; i++ {
		n := &tmpNodes[i]
		if n.mode == 0 {
			*n = tmpNode{mode: mode, parent: dir, mtime: wallNow()}
			n.nameLen = uint32(copy(n.name[:], last))
			tmpNodes[dir].mtime = n.mtime
			return int32(i)
		}
	}
	return -1
}

func tmpOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	parent, node, last, errno := tmpWalk(rel)
	if errno != 0 {
		return errno
	}
	switch {
	case node >= 0 && flags&(_O_CREAT|_O_EXCL) == _O_CREAT|_O_EXCL:
		return -_EEXIST
	case node < 0 && flags&_O_CREAT == 0:
		return -_ENOENT
	case node < 0:
		if node = tmpNew(parent, last, _S_IFREG|mode&0o7777); node < 0 {
			return -_ENOSPC
		}
	}
	n := &tmpNodes[node]
	dir := n.mode&_S_IFMT == _S_IFDIR
	switch {
	case n.mode&_S_IFMT == _S_IFLNK: // not followed: O_NOFOLLOW
		return -_ELOOP
	case n.mode&_S_IFMT == _S_IFSOCK:
		return -_ENXIO // as Linux: a socket is connected to, not opened
	case dir && flags&_O_ACCMODE != _O_RDONLY:
		return -_EISDIR
	case !dir && flags&_O_DIRECTORY != 0:
		return -_ENOTDIR
	}
	kind := uint32(fdTmpFile)
	if dir {
		kind = fdTmpDir
	}
	fd := fdAlloc(kind)
	if fd < 0 {
		return fd
	}
	if flags&_O_TRUNC != 0 && !dir && flags&_O_ACCMODE != _O_RDONLY {
		tmpResize(node, 0)
	}
	n.opens++
	fdAt(fd).handle = uint32(node)
	fdAt(fd).flags = uint32(flags & (_O_ACCMODE | _O_APPEND | _O_NONBLOCK))
	return fd
}

func tmpNodeStat(i int32) statInfo {
	n := &tmpNodes[i]
	return statInfo{mode: uint64(n.mode), size: n.size, blksize: pageSize, blocks: (n.size + 511) / 512,
		ino: uint64(i) + 1, dev: tmpfsDev, mtime: n.mtime, nlink: 1}
}

// The device numbers stat reports, which tell the file systems apart.
const (
	tmpfsDev = 0x12
	treeDev  = 0x13
)

func tmpStat(rel []byte) (statInfo, int64) {
	_, node, _, errno := tmpWalk(rel)
	if errno != 0 {
		return statInfo{}, errno
	}
	if node < 0 {
		return statInfo{}, -_ENOENT
	}
	return tmpNodeStat(node), 0
}

func tmpMkdir(rel []byte, mode uint32) int64 { return tmpMknod(rel, _S_IFDIR|mode&0o7777) }

// tmpMknod makes node rel of mode (type and permissions): a directory,
// or a unix socket's node (unixsock.go).
func tmpMknod(rel []byte, mode uint32) int64 {
	parent, node, last, errno := tmpWalk(rel)
	switch {
	case errno != 0:
		return errno
	case node >= 0:
		return -_EEXIST
	case tmpNew(parent, last, mode) < 0:
		return -_ENOSPC
	}
	return 0
}

func tmpSymlink(rel, target []byte) int64 {
	parent, node, last, errno := tmpWalk(rel)
	switch {
	case errno != 0:
		return errno
	case node >= 0:
		return -_EEXIST
	case len(target) > pageSize:
		return -_ENAMETOOLONG
	}
	i := tmpNew(parent, last, _S_IFLNK|0o777)
	if i < 0 {
		return -_ENOSPC
	}
	pa := tmpPage(i, 0, true)
	if pa == 0 {
		tmpDrop(i)
		return -_ENOSPC
	}
	copy(unsafe.Slice((*byte)(ptr(pa)), pageSize), target)
	tmpNodes[i].size = uint64(len(target))
	return 0
}

func tmpReadlink(rel []byte) (uintptr, int, int64) {
	_, node, _, errno := tmpWalk(rel)
	switch {
	case errno != 0:
		return 0, 0, errno
	case node < 0:
		return 0, 0, -_ENOENT
	case tmpNodes[node].mode&_S_IFMT != _S_IFLNK:
		return 0, 0, -_EINVAL
	}
	return tmpPage(node, 0, false), int(tmpNodes[node].size), 0
}

func tmpEmpty(dir int32) bool {
	for i := range tmpNodes {
		if tmpNodes[i].mode != 0 && tmpNodes[i].parent == dir && i != 0 {
			return false
		}
	}
	return true
}

// tmpDrop unlinks node i, freeing it now if no fd has it open.
func tmpDrop(i int32) {
	n := &tmpNodes[i]
	if p := n.parent; p >= 0 {
		tmpNodes[p].mtime = wallNow()
	}
	n.parent = -1
	if n.opens == 0 {
		tmpResize(i, 0)
		*n = tmpNode{}
	}
}

func tmpUnlink(rel []byte, dir bool) int64 {
	_, node, _, errno := tmpWalk(rel)
	switch {
	case errno != 0:
		return errno
	case node < 0:
		return -_ENOENT
	case node == 0:
		return -_EBUSY
	}
	if errno := tmpRemovable(node, dir); errno != 0 {
		return errno
	}
	tmpDrop(node)
	return 0
}

// tmpRemovable says whether node may go as a directory (dir) or as a
// file would: by unlinkat, or replaced by rename.
func tmpRemovable(node int32, dir bool) int64 {
	isDir := tmpNodes[node].mode&_S_IFMT == _S_IFDIR
	switch {
	case dir && !isDir:
		return -_ENOTDIR
	case !dir && isDir:
		return -_EISDIR
	case isDir && !tmpEmpty(node):
		return -_ENOTEMPTY
	}
	return 0
}

func tmpRename(from, to []byte) int64 {
	_, src, _, errno := tmpWalk(from)
	if errno != 0 {
		return errno
	}
	if src < 0 {
		return -_ENOENT
	}
	parent, dst, last, errno := tmpWalk(to)
	if errno != 0 {
		return errno
	}
	if src == 0 || dst == 0 {
		return -_EBUSY
	}
	if src == dst {
		return 0
	}
	srcDir := tmpNodes[src].mode&_S_IFMT == _S_IFDIR
	// A directory cannot move below itself.
	for p := parent; p > 0; p = tmpNodes[p].parent {
		if p == src {
			return -_EINVAL
		}
	}
	if dst >= 0 {
		if errno := tmpRemovable(dst, srcDir); errno != 0 {
			return errno
		}
		tmpDrop(dst)
	}
	n := &tmpNodes[src]
	n.parent = parent
	n.nameLen = uint32(copy(n.name[:], last))
	tmpNodes[parent].mtime = wallNow()
	return 0
}

// tmpPage returns the frame holding page pg of node i's data, allocating
// it (and the tables to it) when alloc is set; 0 for a hole or when RAM
// is exhausted.
func tmpPage(i int32, pg uint64, alloc bool) uintptr {
	n := &tmpNodes[i]
	if pg >= 512*512 {
		return 0
	}
	if n.root == 0 {
		if !alloc {
			return 0
		}
		if n.root = allocFrame(); n.root == 0 {
			return 0
		}
	}
	l1 := (*[512]uintptr)(ptr(n.root))
	if l1[pg/512] == 0 {
		if !alloc {
			return 0
		}
		if l1[pg/512] = allocFrame(); l1[pg/512] == 0 {
			return 0
		}
	}
	l2 := (*[512]uintptr)(ptr(l1[pg/512]))
	if l2[pg%512] == 0 && alloc {
		l2[pg%512] = allocFrame()
	}
	return l2[pg%512]
}

// tmpResize sets node i's size, freeing the pages past it and zeroing
// the rest of the last one (so that growing again reads zeros).
func tmpResize(i int32, size uint64) {
	n := &tmpNodes[i]
	if size < n.size && n.root != 0 {
		if size%pageSize != 0 {
			if pa := tmpPage(i, size/pageSize, false); pa != 0 {
				clear((*[pageSize]byte)(ptr(pa))[size%pageSize:])
			}
		}
		l1 := (*[512]uintptr)(ptr(n.root))
		first := (size + pageSize - 1) / pageSize
		for j := range l1 {
			if l1[j] == 0 {
				continue
			}
			l2 := (*[512]uintptr)(ptr(l1[j]))
			for k := range l2 {
				if pg := uint64(j*512 + k); pg >= first && l2[k] != 0 {
					freeFrame(l2[k])
					l2[k] = 0
				}
			}
			if uint64(j*512) >= first {
				freeFrame(l1[j])
				l1[j] = 0
			}
		}
		if size == 0 {
			freeFrame(n.root)
			n.root = 0
		}
	}
	n.size = size
	n.mtime = wallNow()
}

func tmpRead(e *fdEntry, buf, cnt uintptr, off int64, at bool) int64 {
	if e.flags&_O_ACCMODE == _O_WRONLY {
		return -_EBADF
	}
	pos, ok := ioPos(e, off, at)
	if !ok {
		return -_EINVAL
	}
	i := int32(e.handle)
	size := tmpNodes[i].size
	if pos >= size {
		return 0
	}
	n := min(uint64(cnt), size-pos)
	var zero [pageSize]byte
	d := uint64(0)
	for d < n {
		p := pos + d
		c := min(n-d, pageSize-p%pageSize)
		src := unsafe.Pointer(&zero)
		if pa := tmpPage(i, p/pageSize, false); pa != 0 {
			src = ptr(pa + uintptr(p%pageSize))
		}
		if !copyOut(buf+uintptr(d), src, uintptr(c)) {
			if d == 0 {
				return -_EFAULT
			}
			break
		}
		d += c
	}
	if !at {
		e.pos += d
	}
	return int64(d)
}

func tmpWrite(e *fdEntry, buf, cnt uintptr, off int64, at bool) int64 {
	if e.flags&_O_ACCMODE == _O_RDONLY {
		return -_EBADF
	}
	i := int32(e.handle)
	pos := e.pos
	switch {
	case at && off < 0:
		return -_EINVAL
	case at:
		pos = uint64(off)
	case e.flags&_O_APPEND != 0:
		pos = tmpNodes[i].size
	}
	n := uint64(cnt)
	if pos >= tmpMaxSize {
		return -_EFBIG
	}
	n = min(n, tmpMaxSize-pos)
	d := uint64(0)
	for d < n {
		p := pos + d
		c := min(n-d, pageSize-p%pageSize)
		pa := tmpPage(i, p/pageSize, true)
		if pa == 0 {
			if d == 0 {
				return -_ENOSPC
			}
			break
		}
		if !copyIn(ptr(pa+uintptr(p%pageSize)), buf+uintptr(d), uintptr(c)) {
			if d == 0 {
				return -_EFAULT
			}
			break
		}
		d += c
	}
	if end := pos + d; end > tmpNodes[i].size {
		tmpNodes[i].size = end
	}
	tmpNodes[i].mtime = wallNow()
	if !at {
		e.pos = pos + d
	}
	return int64(d)
}

func tmpFdStat(e *fdEntry) statInfo { return tmpNodeStat(int32(e.handle)) }

func tmpSeek(e *fdEntry, off int64, whence int) int64 {
	return seekTo(e, off, whence, int64(tmpNodes[e.handle].size))
}

func tmpTruncate(e *fdEntry, size int64) int64 {
	switch {
	case e.flags&_O_ACCMODE == _O_RDONLY:
		return -_EINVAL
	case size < 0:
		return -_EINVAL
	case size > tmpMaxSize:
		return -_EFBIG
	}
	tmpResize(int32(e.handle), uint64(size))
	return 0
}

func tmpClose(e *fdEntry) {
	n := &tmpNodes[e.handle]
	n.opens--
	if n.parent < 0 && n.opens == 0 && e.handle != 0 {
		tmpResize(int32(e.handle), 0)
		*n = tmpNode{}
	}
}

func tmpSync(e *fdEntry) int64 { return 0 }

// tmpGetdents lists directory e from node index e.pos on.
func tmpGetdents(e *fdEntry, buf, n uintptr) int64 {
	b := direntBuf{va: buf, room: n}
	for ; e.pos < tmpMaxNodes; e.pos++ {
		c := &tmpNodes[e.pos]
		if c.mode != 0 && c.parent == int32(e.handle) && e.pos != 0 && !b.add(e.pos+1, c.mode, c.name[:c.nameLen]) {
			break
		}
	}
	return b.result()
}
