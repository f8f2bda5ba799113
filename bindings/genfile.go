//go:build linux

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/bindings/internal/socktab"
)

// Generated files: what the net package and os.Hostname read, written by
// the network stack from the configuration before main runs (socktab's
// Files) and served read-only here: /etc/resolv.conf, /etc/hosts,
// /etc/nsswitch.conf, /etc/hostname and /proc/sys/net/core/somaxconn
// (and /proc/self/auxv, which the kernel writes: proc.go). A
// file the stack has not written does not exist (a program without the
// stack sees none, and the net package uses its defaults). uname gives
// the host name of --unimon:hostname.

// etcFiles are the names under /etc, by socktab file index.
var etcFiles = [...]string{
	socktab.FileResolvConf: "resolv.conf",
	socktab.FileHosts:      "hosts",
	socktab.FileNsswitch:   "nsswitch.conf",
	socktab.FileHostname:   "hostname",
}

// etcFile returns the index of /etc/rel, or -1.
func etcFile(rel []byte) int {
	for i, n := range etcFiles {
		if n != "" && string(rel) == n && socktab.Files[i].Len.Load() != 0 {
			return i
		}
	}
	return -1
}

func genOpenIndex(i int, flags int) int64 {
	if i < 0 {
		return -_ENOENT
	}
	if flags&_O_ACCMODE != _O_RDONLY {
		return -_EROFS
	}
	fd := fdAlloc(fdGenFile)
	if fd >= 0 {
		fdAt(fd).handle = uint32(i)
	}
	return fd
}

func etcOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	return genOpenIndex(etcFile(rel), flags)
}

func genStatIndex(i int) (statInfo, int64) {
	if i < 0 {
		return statInfo{}, -_ENOENT
	}
	return genStat(&fdEntry{handle: uint32(i)}), 0
}

func etcStat(rel []byte) (statInfo, int64) {
	if len(rel) == 0 {
		return statInfo{mode: _S_IFDIR | 0o555}, 0
	}
	return genStatIndex(etcFile(rel))
}

// procFiles are the generated files under /proc, by their path in it:
// somaxconn (the net package's listen backlog) and the auxiliary vector
// the program started with (golang.org/x/sys/cpu reads it).
var procFiles = [...]struct {
	path  string
	index int
}{
	{"sys/net/core/somaxconn", socktab.FileSomaxconn},
	{"self/auxv", socktab.FileAuxv},
}

// procFile returns the generated file of /proc/rel, or -1.
func procFile(rel []byte) int {
	for _, f := range procFiles {
		if string(rel) == f.path && socktab.Files[f.index].Len.Load() != 0 {
			return f.index
		}
	}
	return -1
}

// procDir reports whether /proc/rel is a directory on the way to one of
// procFiles (or /proc itself).
func procDir(rel []byte) bool {
	for _, f := range procFiles {
		if len(rel) == 0 || len(rel) < len(f.path) && f.path[len(rel)] == '/' && f.path[:len(rel)] == string(rel) {
			return true
		}
	}
	return false
}

func procOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	return genOpenIndex(procFile(rel), flags)
}

func procStat(rel []byte) (statInfo, int64) {
	if procDir(rel) {
		return statInfo{mode: _S_IFDIR | 0o555}, 0
	}
	return genStatIndex(procFile(rel))
}

func genRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	f := &socktab.Files[e.handle]
	pos := e.pos
	if at {
		if off < 0 {
			return -_EINVAL
		}
		pos = uint64(off)
	}
	l := uint64(min(f.Len.Load(), socktab.FileMax))
	if pos >= l {
		return 0
	}
	c := min(uintptr(l-pos), n)
	if !copyOut(buf, unsafe.Pointer(&f.Data[pos]), c) {
		return -_EFAULT
	}
	if !at {
		e.pos += uint64(c)
	}
	return int64(c)
}

func genStat(e *fdEntry) statInfo {
	f := &socktab.Files[e.handle]
	return statInfo{mode: _S_IFREG | 0o444, size: uint64(f.Len.Load()), blksize: pageSize, mtime: f.MTime.Load()}
}

func genSeek(e *fdEntry, off int64, whence int) int64 {
	return seekTo(e, off, whence, int64(socktab.Files[e.handle].Len.Load()))
}

// utsname fields are 65 bytes each: sysname, nodename, release,
// version, machine, domainname.
const utsField = 65

func sysUname(t *thread, a sysArgs) (int64, sysResult) {
	var u [6 * utsField]byte
	copy(u[0:], "Linux")
	if n := socktab.Hostname.Len; n > 0 && n < utsField {
		copy(u[utsField:], socktab.Hostname.Name[:n])
	} else {
		copy(u[utsField:], "unikernel")
	}
	copy(u[2*utsField:], "6.1.0-unimon")
	copy(u[3*utsField:], "#1 unimon")
	copy(u[4*utsField:], unameMachine)
	copy(u[5*utsField:], "(none)")
	if !copyOut(a[0], unsafe.Pointer(&u), uintptr(len(u))) {
		return done(-_EFAULT)
	}
	return done(0)
}
