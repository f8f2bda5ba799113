//go:build linux

package bindings

// /dev/null, /dev/zero, /dev/random and /dev/urandom, as on Linux: reads
// give end of file, zeros and random bytes (getrandom's source), and
// writes are discarded. They are not pollable, as for regular files the
// runtime then does plain reads and writes, which never wait here.

const (
	devNull = iota
	devZero
	devRandom
)

func devNullOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	return devFileOpen(rel, flags, devNull)
}

func devZeroOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	return devFileOpen(rel, flags, devZero)
}

func devRandomOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	return devFileOpen(rel, flags, devRandom)
}

func devFileOpen(rel []byte, flags int, which uint32) int64 {
	if len(rel) != 0 {
		return -_ENOTDIR
	}
	if flags&_O_DIRECTORY != 0 {
		return -_ENOTDIR
	}
	fd := fdAlloc(fdDevFile)
	if fd >= 0 {
		fdAt(fd).handle = which
		fdAt(fd).flags = uint32(flags & (_O_ACCMODE | _O_NONBLOCK))
	}
	return fd
}

func devFileStat(rel []byte) (statInfo, int64) {
	if len(rel) != 0 {
		return statInfo{}, -_ENOTDIR
	}
	return statInfo{mode: _S_IFCHR | 0o666, blksize: pageSize, nlink: 1}, 0
}

func devFileRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	switch e.handle {
	case devNull:
		return 0
	case devZero:
		if !zeroOut(buf, n) {
			return -_EFAULT
		}
		return int64(n)
	}
	return fillRandom(buf, n)
}

func devFileWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 { return int64(n) }

func devFileFdStat(e *fdEntry) statInfo {
	s, _ := devFileStat(nil)
	s.rdev = uint64(e.handle)
	return s
}

func devFileSeek(e *fdEntry, off int64, whence int) int64 { return 0 }
