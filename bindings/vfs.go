//go:build linux

package bindings

import "unsafe"

// The file system the program sees is a mount table: each mount serves
// the paths at and below its prefix with its own operations, and the
// longest matching prefix wins. System calls that take a path (openat,
// newfstatat, mkdirat, unlinkat, ...) resolve it here to an absolute,
// clean path (relative paths against the working directory or a
// directory fd, "." and ".." removed) and call the mount's operation
// with the rest of the path below the prefix.
//
// To add files (a generated /etc/resolv.conf, a file system): a line in
// mounts (static data: the kernel runs before the runtime's init) and
// the operations, in the mount's own file. An operation left nil gives
// the error its comment in fsOps names.

// pathMax bounds a resolved path (Linux: PATH_MAX, 4096).
const pathMax = 1024

// fsOps are the operations of one mount; rel is the path below the
// mount's prefix without a leading '/' ("" is the prefix itself).
type fsOps struct {
	// open opens rel with openat's flags and mode and returns an fd.
	// nil: ENOENT.
	open func(t *thread, rel []byte, flags int, mode uint32) int64
	// stat describes rel (newfstatat, and open's O_DIRECTORY checks).
	// nil: ENOENT.
	stat func(rel []byte) (statInfo, int64)
	// mkdir makes directory rel. nil: a read-only mount (EROFS, or
	// EEXIST when rel exists).
	mkdir func(rel []byte, mode uint32) int64
	// mknod makes rel a node of mode (type and permissions): bind of a
	// unix socket to a path. nil: as mkdir.
	mknod func(rel []byte, mode uint32) int64
	// unlink removes rel: a directory (empty) when dir is set, else a
	// file. nil: a read-only mount.
	unlink func(rel []byte, dir bool) int64
	// rename moves from to to, both in this mount (another mount is
	// EXDEV). nil: a read-only mount.
	rename func(from, to []byte) int64
	// readlink returns the kernel address and length of the target of
	// the symbolic link rel, or EINVAL if rel is not one. nil: the mount
	// has no symbolic links.
	readlink func(rel []byte) (uintptr, int, int64)
	// symlink makes rel a symbolic link to target. nil: EPERM, or EROFS
	// on a read-only mount.
	symlink func(rel, target []byte) int64
}

// mount is an entry of the mount table.
type mount struct {
	prefix string // absolute, without a trailing '/'
	fs     fsOps
}

// mounts is the mount table, most specific prefix first.
var mounts = [...]mount{
	{"/dev/solo5", fsOps{open: deviceOpen, stat: deviceStat}},
	{"/dev/null", fsOps{open: devNullOpen, stat: devFileStat}}, // devfiles.go
	{"/dev/zero", fsOps{open: devZeroOpen, stat: devFileStat}},
	{"/dev/random", fsOps{open: devRandomOpen, stat: devFileStat}},
	{"/dev/urandom", fsOps{open: devRandomOpen, stat: devFileStat}},
	{"/dev/unimon", fsOps{open: bellOpen}},
	{"/etc", fsOps{open: etcOpen, stat: etcStat}},
	{"/proc", fsOps{open: procOpen, stat: procStat}}, // genfile.go
	{"/tmp", tmpfsOps},
	{"/", treeOps},
}

// Special values of the path system calls.
const (
	_AT_FDCWD            = -100
	_AT_SYMLINK_NOFOLLOW = 0x100
	_AT_REMOVEDIR        = 0x200
	_AT_EMPTY_PATH       = 0x1000
	_O_CREAT             = 0x40
	_O_EXCL              = 0x80
	_O_TRUNC             = 0x200
	_O_APPEND            = 0x400
	_O_DIRECTORY         = 0x10000
	_ENOTDIR             = 20
	_EISDIR              = 21
	_EROFS               = 30
	_ENAMETOOLONG        = 36
	_ENOTEMPTY           = 39
	_EXDEV               = 18
	_EACCES              = 13
	_EFBIG               = 27
	_ERANGE              = 34
	_ELOOP               = 40
	_O_NOFOLLOW          = 0x20000
	maxSymlinks          = 40 // Linux's limit of links followed in one lookup
)

// cwd is the working directory, absolute and clean (static data: the
// kernel runs before the runtime's init).
var (
	cwd    = [pathMax]byte{'/'}
	cwdLen = 1
)

// pathBufs hold the resolved paths of one system call (renameat needs
// two).
var pathBufs [2][pathMax]byte

// resolve reads the path at user address p and makes it absolute and
// clean in pathBufs[slot], relative to dirfd when it is relative, with
// the symbolic links on the way followed (the last component's too when
// follow is set). It returns the path, or a negative errno.
func resolve(slot int, dirfd int64, p uintptr, follow bool) ([]byte, int64) {
	var raw [pathMax]byte
	n := 0
	for ; n < pathMax; n++ {
		if !copyIn(unsafe.Pointer(&raw[n]), p+uintptr(n), 1) {
			return nil, -_EFAULT
		}
		if raw[n] == 0 {
			break
		}
	}
	if n == pathMax {
		return nil, -_ENAMETOOLONG
	}
	return resolveRaw(slot, dirfd, &raw, n, follow)
}

// resolveRaw is resolve of the path already in raw (n bytes, no NUL):
// bind and connect take a unix socket's path from its socket address.
func resolveRaw(slot int, dirfd int64, raw *[pathMax]byte, n int, follow bool) ([]byte, int64) {
	if n == 0 {
		return nil, -_ENOENT
	}
	out := &pathBufs[slot]
	l := 0
	if raw[0] != '/' {
		base := cwd[:cwdLen]
		if dirfd != _AT_FDCWD {
			d, errno := dirPath(dirfd)
			if errno != 0 {
				return nil, errno
			}
			base = d
		}
		l = copy(out[:], base)
	}
	// Append each component, dropping "." and applying ".."; a component
	// that is a symbolic link is replaced by its target.
	links := 0
	for i := 0; i < n; {
		var c []byte
		c, i = component(raw[:n], i)
		switch {
		case len(c) == 0 || string(c) == ".":
		case string(c) == "..":
			l = parentLen(out[:l])
		default:
			if l+1+len(c) >= pathMax {
				return nil, -_ENAMETOOLONG
			}
			if l == 0 || out[l-1] != '/' {
				out[l] = '/'
				l++
			}
			l += copy(out[l:], c)
			if i >= n && !follow {
				break
			}
			target, tn, ok := symlinkAt(out[:l])
			if !ok {
				break
			}
			if links++; links > maxSymlinks {
				return nil, -_ELOOP
			}
			// Continue with the target followed by the rest of the path.
			var next [pathMax]byte
			if tn+n-i >= pathMax {
				return nil, -_ENAMETOOLONG
			}
			k := copy(next[:], unsafe.Slice((*byte)(ptr(target)), tn))
			k += copy(next[k:], raw[i:n])
			*raw, n, i = next, k, 0
			l = parentLen(out[:l])
			if tn > 0 && raw[0] == '/' {
				l = 0
			}
		}
	}
	if l == 0 {
		out[0] = '/'
		l = 1
	}
	return out[:l], 0
}

// parentLen is the length of the parent of the clean absolute path p.
func parentLen(p []byte) int {
	l := len(p)
	for l > 0 && p[l-1] != '/' {
		l--
	}
	if l > 1 {
		l--
	}
	return l
}

// symlinkAt returns the target of p if p is a symbolic link.
func symlinkAt(p []byte) (uintptr, int, bool) {
	m, rel := lookup(p)
	if m < 0 || mounts[m].fs.readlink == nil {
		return 0, 0, false
	}
	t, n, errno := mounts[m].fs.readlink(rel)
	return t, n, errno == 0
}

// dirPath is the path of a directory fd (fdPath), for the *at calls.
func dirPath(fd int64) ([]byte, int64) {
	d := fdFile(uintptr(fd))
	if d < 0 {
		return nil, -_EBADF
	}
	if fdPathLen[d] == 0 {
		return nil, -_ENOTDIR
	}
	return fdPaths[d][:fdPathLen[d]], 0
}

// fdPaths holds the path of every open file description opened by path
// (directories need it for the *at calls relative to them), by its
// index in files.
var (
	fdPaths   [maxFDs][pathMax]byte
	fdPathLen [maxFDs]int
)

// lookup finds the mount serving the absolute path p and returns its
// index and the path below its prefix, or -1.
func lookup(p []byte) (int, []byte) {
	for i := range mounts {
		pre := mounts[i].prefix
		switch {
		case pre == "/":
			return i, p[1:]
		case string(p) == pre:
			return i, p[len(p):]
		case len(p) > len(pre) && string(p[:len(pre)]) == pre && p[len(pre)] == '/':
			return i, p[len(pre)+1:]
		}
	}
	return -1, nil
}

func sysOpenat(t *thread, a sysArgs) (int64, sysResult) {
	return done(fdCloexec(openat(t, int64(int32(a[0])), a[1], int(a[2]), uint32(a[3])), a[2]))
}

func openat(t *thread, dirfd int64, path uintptr, flags int, mode uint32) int64 {
	// O_CREAT|O_EXCL does not follow a link either: it must not exist.
	follow := flags&_O_NOFOLLOW == 0 && flags&(_O_CREAT|_O_EXCL) != _O_CREAT|_O_EXCL
	p, errno := resolve(0, dirfd, path, follow)
	if errno != 0 {
		return errno
	}
	m, rel := lookup(p)
	if m < 0 || mounts[m].fs.open == nil {
		return -_ENOENT
	}
	fd := mounts[m].fs.open(t, rel, flags, mode)
	if d := fdFile(uintptr(fd)); d >= 0 {
		fdPathLen[d] = copy(fdPaths[d][:], p)
	}
	return fd
}

// pathStat is the stat of an absolute path through its mount.
func pathStat(p []byte) (statInfo, int64) {
	m, rel := lookup(p)
	if m < 0 || mounts[m].fs.stat == nil {
		return statInfo{}, -_ENOENT
	}
	return mounts[m].fs.stat(rel)
}

// atPath resolves the path argument of a *at call into pathBufs[slot]
// (following a last component that is a symbolic link if follow is
// set) and finds its mount.
func atPath(slot int, dirfd, path uintptr, follow bool) (int, []byte, int64) {
	return mountOf(resolve(slot, int64(int32(dirfd)), path, follow))
}

// mountOf finds the mount of path p, which resolve (or resolveRaw)
// returned with errno, and returns it and the path in it, or an errno.
func mountOf(p []byte, errno int64) (int, []byte, int64) {
	if errno != 0 {
		return -1, nil, errno
	}
	m, rel := lookup(p)
	if m < 0 {
		return -1, nil, -_ENOENT
	}
	return m, rel, 0
}

// readOnly is the error of a change to rel on a mount that has no
// operation for it: EEXIST (mkdir) or ENOENT if rel does not exist.
func readOnly(m int, rel []byte, mkdir bool) int64 {
	st := mounts[m].fs.stat
	if st == nil {
		return -_ENOENT
	}
	if _, errno := st(rel); errno != 0 {
		return errno
	}
	if mkdir {
		return -_EEXIST
	}
	return -_EROFS
}

func sysNewfstatat(t *thread, a sysArgs) (int64, sysResult) {
	if a[3]&_AT_EMPTY_PATH != 0 {
		if c, ok := getU32(a[1]); ok && c&0xff == 0 {
			return sysFstat(t, sysArgs{a[0], a[2]})
		}
	}
	m, rel, errno := atPath(0, a[0], a[1], a[3]&_AT_SYMLINK_NOFOLLOW == 0)
	if errno != 0 {
		return done(errno)
	}
	if mounts[m].fs.stat == nil {
		return done(-_ENOENT)
	}
	s, errno := mounts[m].fs.stat(rel)
	if errno != 0 {
		return done(errno)
	}
	if !putStat(a[2], &s) {
		return done(-_EFAULT)
	}
	return done(0)
}

func sysMkdirat(t *thread, a sysArgs) (int64, sysResult) {
	m, rel, errno := atPath(0, a[0], a[1], false)
	switch {
	case errno != 0:
		return done(errno)
	case mounts[m].fs.mkdir == nil:
		return done(readOnly(m, rel, true))
	}
	return done(mounts[m].fs.mkdir(rel, uint32(a[2])))
}

func sysUnlinkat(t *thread, a sysArgs) (int64, sysResult) {
	m, rel, errno := atPath(0, a[0], a[1], false)
	switch {
	case errno != 0:
		return done(errno)
	case mounts[m].fs.unlink == nil:
		return done(readOnly(m, rel, false))
	}
	return done(mounts[m].fs.unlink(rel, a[2]&_AT_REMOVEDIR != 0))
}

func sysRenameat(t *thread, a sysArgs) (int64, sysResult) {
	return sysRenameat2(t, sysArgs{a[0], a[1], a[2], a[3], 0})
}

// sysRenameat2 is renameat2 without flags (RENAME_NOREPLACE and the
// others are EINVAL).
func sysRenameat2(t *thread, a sysArgs) (int64, sysResult) {
	if a[4] != 0 {
		return done(-_EINVAL)
	}
	m, from, errno := atPath(0, a[0], a[1], false)
	if errno != 0 {
		return done(errno)
	}
	m2, to, errno := atPath(1, a[2], a[3], false)
	switch {
	case errno != 0:
		return done(errno)
	case m != m2:
		return done(-_EXDEV)
	case mounts[m].fs.rename == nil:
		return done(readOnly(m, from, false))
	}
	return done(mounts[m].fs.rename(from, to))
}

// sysReadlinkat copies the target of a symbolic link (without a 0).
func sysReadlinkat(t *thread, a sysArgs) (int64, sysResult) {
	m, rel, errno := atPath(0, a[0], a[1], false)
	if errno != 0 {
		return done(errno)
	}
	if mounts[m].fs.readlink == nil {
		if errno := readOnly(m, rel, false); errno != -_EROFS {
			return done(errno)
		}
		return done(-_EINVAL)
	}
	target, n, errno := mounts[m].fs.readlink(rel)
	if errno != 0 {
		return done(errno)
	}
	c := min(uintptr(n), a[3])
	if !copyOut(a[2], ptr(target), c) {
		return done(-_EFAULT)
	}
	return done(int64(c))
}

// linkTarget holds symlinkat's target (a static buffer: a local one would
// escape to the heap through the mount's operation).
var linkTarget [pathMax]byte

// sysSymlinkat makes a symbolic link (target, newdirfd, linkpath).
func sysSymlinkat(t *thread, a sysArgs) (int64, sysResult) {
	target := &linkTarget
	n := 0
	for ; n < pathMax; n++ {
		if !copyIn(unsafe.Pointer(&target[n]), a[0]+uintptr(n), 1) {
			return done(-_EFAULT)
		}
		if target[n] == 0 {
			break
		}
	}
	switch {
	case n == pathMax:
		return done(-_ENAMETOOLONG)
	case n == 0:
		return done(-_ENOENT)
	}
	m, rel, errno := atPath(0, a[1], a[2], false)
	switch {
	case errno != 0:
		return done(errno)
	case mounts[m].fs.symlink == nil && mounts[m].fs.unlink == nil:
		return done(readOnly(m, rel, false))
	case mounts[m].fs.symlink == nil:
		return done(-_EPERM)
	}
	return done(mounts[m].fs.symlink(rel, target[:n]))
}

// sysLinkat: no mount has hard links.
func sysLinkat(t *thread, a sysArgs) (int64, sysResult) { return done(-_EPERM) }

// sysFaccessat: root may do anything with a file that exists, except
// write to a read-only mount.
func sysFaccessat(t *thread, a sysArgs) (int64, sysResult) {
	m, rel, errno := atPath(0, a[0], a[1], true)
	if errno != 0 {
		return done(errno)
	}
	if errno := readOnly(m, rel, false); errno != -_EROFS {
		return done(errno)
	}
	if a[2]&2 != 0 && mounts[m].fs.unlink == nil { // W_OK
		return done(-_EROFS)
	}
	return done(0)
}

// sysFchmodat, sysChmod, sysFchmod and sysUtimensat succeed on files that
// exist without changing them: modes and times are not kept apart from
// the modification time the file systems set themselves.
func sysFchmodat(t *thread, a sysArgs) (int64, sysResult) {
	m, rel, errno := atPath(0, a[0], a[1], true)
	if errno != 0 {
		return done(errno)
	}
	if errno := readOnly(m, rel, false); errno != -_EROFS {
		return done(errno)
	}
	return done(0)
}

func sysChmod(t *thread, a sysArgs) (int64, sysResult) {
	return sysFchmodat(t, sysArgs{uintptr(0xffffffff_ffffff9c), a[0], a[1]})
}

func sysUtimensat(t *thread, a sysArgs) (int64, sysResult) {
	if a[1] == 0 {
		return sysFchmod(t, a)
	}
	return sysFchmodat(t, a)
}

func sysFchmod(t *thread, a sysArgs) (int64, sysResult) {
	if fdGet(a[0]) == nil {
		return done(-_EBADF)
	}
	return done(0)
}

func sysGetcwd(t *thread, a sysArgs) (int64, sysResult) {
	if a[1] < uintptr(cwdLen)+1 {
		return done(-_ERANGE)
	}
	cwd[cwdLen] = 0
	if !copyOut(a[0], unsafe.Pointer(&cwd), uintptr(cwdLen)+1) {
		return done(-_EFAULT)
	}
	return done(int64(cwdLen) + 1)
}

// setCwd makes the absolute path p, a directory, the working directory.
func setCwd(p []byte) int64 {
	s, errno := pathStat(p)
	switch {
	case errno != 0:
		return errno
	case s.mode&_S_IFMT != _S_IFDIR:
		return -_ENOTDIR
	}
	cwdLen = copy(cwd[:], p)
	return 0
}

func sysChdir(t *thread, a sysArgs) (int64, sysResult) {
	p, errno := resolve(0, _AT_FDCWD, a[0], true)
	if errno != 0 {
		return done(errno)
	}
	return done(setCwd(p))
}

func sysFchdir(t *thread, a sysArgs) (int64, sysResult) {
	p, errno := dirPath(int64(a[0]))
	if errno != 0 {
		return done(errno)
	}
	l := copy(pathBufs[0][:], p)
	return done(setCwd(pathBufs[0][:l]))
}

// direntBuf fills the program's getdents64 buffer at va.
type direntBuf struct {
	va, room, used uintptr
	err            int64
}

// add writes a struct linux_dirent64 for name; false when it does not
// fit (or the buffer is bad), and the listing stops there.
func (b *direntBuf) add(ino uint64, mode uint32, name []byte) bool {
	reclen := (19 + uintptr(len(name)) + 1 + 7) &^ 7
	if reclen > b.room-b.used || len(name) > 255 {
		b.err = -_EINVAL
		return false
	}
	var r [280]byte
	*(*uint64)(unsafe.Pointer(&r[0])) = ino
	*(*uint64)(unsafe.Pointer(&r[8])) = ino // d_off: where the next read resumes
	*(*uint16)(unsafe.Pointer(&r[16])) = uint16(reclen)
	r[18] = byte(mode >> 12 & 15) // DT_DIR, DT_REG... are the S_IFMT bits
	copy(r[19:], name)
	if !copyOut(b.va+b.used, unsafe.Pointer(&r), reclen) {
		b.err = -_EFAULT
		return false
	}
	b.used += reclen
	return true
}

// result is getdents64's value: the bytes written, or the error when
// not even one entry fit.
func (b *direntBuf) result() int64 {
	if b.used == 0 && b.err != 0 {
		return b.err
	}
	return int64(b.used)
}

// component returns the path component of p starting at or after i
// (slashes skipped) and the index after it; an empty component at the
// end.
func component(p []byte, i int) ([]byte, int) {
	for i < len(p) && p[i] == '/' {
		i++
	}
	j := i
	for j < len(p) && p[j] != '/' {
		j++
	}
	return p[i:j], j
}

// statInfo.mode's file types.
const (
	_S_IFMT  = 0o170000
	_S_IFDIR = 0o040000
	_S_IFREG = 0o100000
	_S_IFLNK = 0o120000
	_S_IFCHR = 0o020000
	_S_IFBLK = 0o060000
)
