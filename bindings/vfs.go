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
}

// mount is an entry of the mount table.
type mount struct {
	prefix string // absolute, without a trailing '/'
	fs     fsOps
}

// mounts is the mount table, most specific prefix first.
var mounts = [...]mount{
	{"/dev/solo5", fsOps{open: deviceOpen, stat: deviceStat}},
	{"/dev/unimon", fsOps{open: bellOpen}},
	{"/etc", fsOps{open: etcOpen, stat: etcStat}},
	{"/proc/sys/net/core", fsOps{open: procNetOpen, stat: procNetStat}},
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
// clean in pathBufs[slot], relative to dirfd when it is relative. It
// returns the path, or a negative errno.
func resolve(slot int, dirfd int64, p uintptr) ([]byte, int64) {
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
	// Append each component, dropping "." and applying "..".
	for i := 0; i < n; {
		for i < n && raw[i] == '/' {
			i++
		}
		j := i
		for j < n && raw[j] != '/' {
			j++
		}
		c := raw[i:j]
		i = j
		switch {
		case len(c) == 0 || string(c) == ".":
		case string(c) == "..":
			for l > 0 && out[l-1] != '/' {
				l--
			}
			if l > 1 {
				l--
			}
		default:
			if l+1+len(c) >= pathMax {
				return nil, -_ENAMETOOLONG
			}
			if l == 0 || out[l-1] != '/' {
				out[l] = '/'
				l++
			}
			l += copy(out[l:], c)
		}
	}
	if l == 0 {
		out[0] = '/'
		l = 1
	}
	return out[:l], 0
}

// dirPath is the path of a directory fd (fdPath), for the *at calls.
func dirPath(fd int64) ([]byte, int64) {
	if fd < 0 || fd >= maxFDs || fds[fd].kind == fdNone {
		return nil, -_EBADF
	}
	if fdPathLen[fd] == 0 {
		return nil, -_ENOTDIR
	}
	return fdPaths[fd][:fdPathLen[fd]], 0
}

// fdPaths holds the path of every fd opened by path (directories need
// it for the *at calls relative to them).
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
	return done(openat(t, int64(int32(a[0])), a[1], int(a[2]), uint32(a[3])))
}

func openat(t *thread, dirfd int64, path uintptr, flags int, mode uint32) int64 {
	p, errno := resolve(0, dirfd, path)
	if errno != 0 {
		return errno
	}
	m, rel := lookup(p)
	if m < 0 || mounts[m].fs.open == nil {
		return -_ENOENT
	}
	fd := mounts[m].fs.open(t, rel, flags, mode)
	if fd >= 0 {
		fdPathLen[fd] = copy(fdPaths[fd][:], p)
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

// statInfo.mode's file types.
const (
	_S_IFMT  = 0o170000
	_S_IFDIR = 0o040000
	_S_IFREG = 0o100000
	_S_IFLNK = 0o120000
	_S_IFCHR = 0o020000
	_S_IFBLK = 0o060000
)
