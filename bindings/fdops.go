//go:build linux

package bindings

import "unsafe"

// File descriptors. As on Linux, an fd (a slot of fdTab, with its own
// FD_CLOEXEC) names an open file description (an fdEntry in files:
// plain numbers, no Go pointers) that dup, dup2, dup3 and F_DUPFD share
// between fds: the kind, the object, the status flags and the position.
// The description counts its fds (refs); its kind's close runs, and its
// epoll watches go, when the last of them is closed (dup.go).
//
// The description's kind selects its operations in fdOps, the one place
// that knows what each kind of fd does; the system calls on fds (here),
// epoll (epoll.go) and close go through it. Adding a kind of fd (a
// socket, a tmpfs file, a directory) is a constant, an fdKindOps entry
// and the kind's functions in its own file; per-fd state that does not
// fit fdEntry lives in the kind's own array, indexed by fdEntry.handle.
//
// fdOps holds function values rather than Go interfaces: it is static
// data the kernel only reads (interfaces over kernel state would need Go
// pointers to that state, and the kernel writes none), it is initialised
// by the linker (the kernel runs before the runtime's init), and
// TestTrapPathDoesNotAllocate follows every entry of it. A nil operation
// has the default behaviour its comment gives.
//
// The fds: 0 reads as end of file, 1 and 2 are the console; the runtime's
// netpoller adds an epoll instance and an eventfd; openat of
// DevicePrefix+NAME gives block and net devices (dev.go).
const (
	maxFDs = 512

	fdNone      = 0
	fdStdin     = 1
	fdConsole   = 2
	fdEpoll     = 3
	fdEventfd   = 4
	fdBlock     = 5
	fdNet       = 6
	fdTmpFile   = 7 // tmpfs.go
	fdTmpDir    = 8
	fdTreeFile  = 9 // treefs.go
	fdTreeDir   = 10
	fdPipeRead  = 11 // pipe.go
	fdPipeWrite = 12
	fdDevFile   = 13 // devfiles.go
	fdSocket    = 14 // socket.go
	fdSockBell  = 15 // socket.go: the network stack's doorbell
	fdNetlink   = 16 // netlink.go
	fdGenFile   = 17 // genfile.go
	fdUnix      = 18 // unixpair.go: an end of a socketpair or unix connection
	fdUnixSock  = 19 // unixsock.go: a unix socket not connected
	fdKinds     = 20
)

// fdEntry is an open file description.
type fdEntry struct {
	kind   uint32
	handle uint32 // fdBlock, fdNet: the device's manifest index
	flags  uint32 // fdBlock, fdNet: the access mode and O_NONBLOCK
	refs   uint32 // the fds naming it; 0: free
	count  uint64 // eventfd counter
	pos    uint64 // fdBlock: the file position of read, write and lseek
}

// fdSlot is an fd: the open file description it names and its flags.
type fdSlot struct {
	file    uint16 // 1 + the index in files; 0: the fd is closed
	cloexec bool   // FD_CLOEXEC (kept for F_GETFD: nothing here execs)
}

// fdKindOps are the operations of one kind of fd.
type fdKindOps struct {
	// read and write move n bytes between the program's buf and the fd:
	// at the fd's position (at false: read, write) or at off (at true:
	// pread64, pwrite64). nil: EBADF, or ESPIPE for pread64/pwrite64.
	read, write func(e *fdEntry, buf, n uintptr, off int64, at bool) int64
	// ready returns the epoll events (_EPOLLIN...) the fd has for watch
	// w now; it may consume an edge of w. nil: the fd cannot be watched
	// (epoll_ctl says EPERM, as Linux does for regular files).
	ready func(e *fdEntry, w *watch) uint32
	// waitRead parks t until a read that found nothing (EAGAIN) could
	// find something, and reports true, if the fd is in blocking mode;
	// the read then runs again (sysRestart). nil: reads never wait.
	waitRead func(e *fdEntry, t *thread) bool
	// close releases the kind's state of the fd. nil: nothing to do.
	close func(e *fdEntry)
	// stat describes the fd for fstat (nlink and rdev are filled in).
	// nil: an anonymous inode. (Results are returned by value: a
	// pointer to the kernel's stack would escape through the call.)
	stat func(e *fdEntry) statInfo
	// seek is lseek. nil: ESPIPE.
	seek func(e *fdEntry, off int64, whence int) int64
	// fcntl answers F_GETFL and F_SETFL. nil: every command succeeds
	// and returns 0 (the runtime only asks F_GETFD of 0-2 at start).
	fcntl func(e *fdEntry, cmd int, arg uintptr) int64
	// sync is fsync and fdatasync: it returns once what was written is
	// stored. nil: EINVAL (as Linux for fds that cannot sync).
	sync func(e *fdEntry) int64
	// getdents is getdents64: directory entries from the fd's position
	// (putDirent writes one). nil: ENOTDIR.
	getdents func(e *fdEntry, buf, n uintptr) int64
	// truncate is ftruncate. nil: EINVAL.
	truncate func(e *fdEntry, size int64) int64
}

var fdOps = [fdKinds]fdKindOps{
	fdStdin:     {read: stdinRead, ready: neverReady, stat: consoleStat},
	fdConsole:   {write: consoleWrite, ready: neverReady, stat: consoleStat},
	fdEpoll:     {ready: neverReady},
	fdEventfd:   {read: eventfdRead, write: eventfdWrite, ready: eventfdReady},
	fdBlock:     {read: blockRead, write: blockWrite, stat: blockStat, seek: blockSeek, fcntl: devFcntl, sync: blockSync},
	fdTmpFile:   {read: tmpRead, write: tmpWrite, close: tmpClose, stat: tmpFdStat, seek: tmpSeek, fcntl: devFcntl, sync: tmpSync, truncate: tmpTruncate},
	fdTmpDir:    {close: tmpClose, stat: tmpFdStat, seek: dirSeek, fcntl: devFcntl, sync: tmpSync, getdents: tmpGetdents},
	fdTreeFile:  {read: treeRead, stat: treeFdStat, seek: treeSeek, fcntl: devFcntl},
	fdTreeDir:   {stat: treeFdStat, seek: dirSeek, fcntl: devFcntl, getdents: treeGetdents},
	fdPipeRead:  {read: pipeRead, ready: pipeReady, close: pipeClose, stat: pipeStat, fcntl: devFcntl},
	fdPipeWrite: {write: pipeWrite, ready: pipeReady, close: pipeClose, stat: pipeStat, fcntl: devFcntl},
	fdDevFile:   {read: devFileRead, write: devFileWrite, stat: devFileFdStat, seek: devFileSeek, fcntl: devFcntl},
	fdNet:       {read: netFileRead, write: netFileWrite, ready: netReady, waitRead: netWaitRead, close: netClose, stat: netStat, fcntl: devFcntl},
	fdSocket:    {read: sockRead, write: sockWrite, ready: sockReady, waitRead: sockWaitRead, close: sockClose, stat: sockStat, fcntl: sockFcntl},
	fdSockBell:  {read: bellRead, write: bellWrite, ready: bellReady, close: bellClose, fcntl: devFcntl},
	fdNetlink:   {read: netlinkRead, write: netlinkWrite, stat: sockStat},
	fdGenFile:   {read: genRead, stat: genStat, seek: genSeek},
	fdUnix:      {read: unixRead, write: unixWrite, ready: unixReady, close: unixClose, stat: sockStat, fcntl: sockFcntl},
	fdUnixSock:  {ready: unixSockReady, close: unixSockClose, stat: sockStat, fcntl: sockFcntl},
}

// files are the open file descriptions (as many as fds can name) and
// fdTab the fds.
var (
	files = [maxFDs]fdEntry{{kind: fdStdin, refs: 1}, {kind: fdConsole, refs: 1}, {kind: fdConsole, refs: 1}}
	fdTab = [maxFDs]fdSlot{{file: 1}, {file: 2}, {file: 3}}
)

// readinessChanged is set by an fd whose readiness changed in a system
// call (an eventfd written); the dispatcher then wakes the epoll waits.
// A flag rather than a call: fdOps must not refer to epoll, which refers
// to fdOps (Go forbids initialisation cycles).
var readinessChanged bool

// fdAlloc opens the lowest free fd on a new description of kind.
func fdAlloc(kind uint32) int64 {
	fd := fdFree(0)
	if fd < 0 {
		return fd
	}
	for i := range files {
		if files[i].refs == 0 {
			files[i] = fdEntry{kind: kind, refs: 1}
			fdPathLen[i] = 0
			fdTab[fd] = fdSlot{file: uint16(i + 1)}
			return fd
		}
	}
	return -_EMFILE // not reached: every description has an fd
}

// fdFree returns the lowest closed fd from min, or EMFILE.
func fdFree(min uintptr) int64 {
	for i := min; i < maxFDs; i++ {
		if fdTab[i].file == 0 {
			return int64(i)
		}
	}
	return -_EMFILE
}

// fdFile returns the index in files of fd's description, or -1 if fd is
// not open.
func fdFile(fd uintptr) int {
	if fd >= maxFDs || fdTab[fd].file == 0 {
		return -1
	}
	return int(fdTab[fd].file) - 1
}

// fdGet returns fd's description, or nil if fd is not open.
func fdGet(fd uintptr) *fdEntry {
	if i := fdFile(fd); i >= 0 {
		return &files[i]
	}
	return nil
}

// fdAt is fdGet of an fd a kind's open just allocated (fdAlloc).
func fdAt(fd int64) *fdEntry { return fdGet(uintptr(fd)) }

func ops(e *fdEntry) *fdKindOps { return &fdOps[e.kind] }

// fdIO is read and write (at false) and pread64 and pwrite64 (at true)
// through the fd's kind.
func fdIO(fd, buf, n uintptr, off int64, at, write bool) int64 {
	e := fdGet(fd)
	if e == nil {
		return -_EBADF
	}
	op := ops(e).read
	if write {
		op = ops(e).write
	}
	switch {
	case op == nil && at:
		return -_ESPIPE
	case op == nil:
		return -_EBADF
	}
	return op(e, buf, n, off, at)
}

// sysRead is read; a read that finds nothing on a blocking fd waits and
// runs again.
func sysRead(t *thread, a sysArgs) (int64, sysResult) {
	r := fdIO(a[0], a[1], a[2], 0, false, false)
	if r == -_EAGAIN {
		if e := fdGet(a[0]); ops(e).waitRead != nil && ops(e).waitRead(e, t) {
			return 0, sysRestart
		}
	}
	return done(r)
}

// sysWrite is write; a socket's may wait for room (sockSendCall).
func sysWrite(t *thread, a sysArgs) (int64, sysResult) {
	if e := fdGet(a[0]); e != nil && e.kind == fdSocket {
		u := ubuf{base: a[1], len: a[2]}
		return sockSendCall(t, e, &u, 0, 0, 0)
	}
	return done(fdIO(a[0], a[1], a[2], 0, false, true))
}

func sysPread64(t *thread, a sysArgs) (int64, sysResult) {
	return done(fdIO(a[0], a[1], a[2], int64(a[3]), true, false))
}

func sysPwrite64(t *thread, a sysArgs) (int64, sysResult) {
	return done(fdIO(a[0], a[1], a[2], int64(a[3]), true, true))
}

// sysClose closes fd (fdClose); 0-2 stay open. The close of a socket's
// last fd waits for the stack to take what it holds (sockCloseWait).
func sysClose(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	if e == nil {
		return done(-_EBADF)
	}
	if a[0] > 2 {
		if e.kind == fdSocket && e.refs == 1 && sockCloseWait(e, t) {
			return 0, sysRestart
		}
		fdClose(a[0])
	}
	return done(0)
}

// statInfo is what fstat reports; putStat writes it in the
// architecture's struct stat.
type statInfo struct {
	mode, nlink, rdev, size, blksize, blocks uint64
	dev, ino                                 uint64
	mtime                                    int64 // ns since the epoch, also atime and ctime
}

func sysFstat(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	if e == nil {
		return done(-_EBADF)
	}
	s := statInfo{mode: 0o600} // anonymous inodes (epoll, eventfd) have no type
	if st := ops(e).stat; st != nil {
		s = st(e)
	}
	s.nlink = 1
	if s.ino == 0 {
		s.rdev = uint64(e.handle) // tells devices apart
	}
	if !putStat(a[1], &s) {
		return done(-_EFAULT)
	}
	return done(0)
}

func sysLseek(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	if e == nil {
		return done(-_EBADF)
	}
	if ops(e).seek == nil {
		return done(-_ESPIPE)
	}
	return done(ops(e).seek(e, int64(a[1]), int(a[2])))
}

// fcntl's commands on the fd itself rather than its description.
const (
	_F_DUPFD         = 0
	_F_GETFD         = 1
	_F_SETFD         = 2
	_F_DUPFD_CLOEXEC = 1030
	_FD_CLOEXEC      = 1
)

func sysFcntl(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	switch int(a[1]) {
	case _F_DUPFD, _F_DUPFD_CLOEXEC, _F_GETFD, _F_SETFD:
		if e == nil {
			return done(-_EBADF) // not 0, which would look like a new fd
		}
		return done(fdFcntl(a[0], int(a[1]), a[2])) // the fd's own (dup.go)
	}
	if e == nil || ops(e).fcntl == nil {
		return done(0)
	}
	return done(ops(e).fcntl(e, int(a[1]), a[2]))
}

// sysFsync is fsync and fdatasync (there is no metadata apart from the
// data).
func sysFsync(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	switch {
	case e == nil:
		return done(-_EBADF)
	case ops(e).sync == nil:
		return done(-_EINVAL)
	}
	return done(ops(e).sync(e))
}

// ioPos is where a read or write on e starts: at off for pread64 and
// pwrite64 (at; false if off is negative), else at the fd's position.
func ioPos(e *fdEntry, off int64, at bool) (uint64, bool) {
	if !at {
		return e.pos, true
	}
	return uint64(off), off >= 0
}

// seekTo is lseek for an fd whose end is at size.
func seekTo(e *fdEntry, off int64, whence int, size int64) int64 {
	var base int64
	switch whence {
	case 0: // SEEK_SET
	case 1: // SEEK_CUR
		base = int64(e.pos)
	case 2: // SEEK_END
		base = size
	default:
		return -_EINVAL
	}
	if off+base < 0 {
		return -_EINVAL
	}
	e.pos = uint64(off + base)
	return int64(e.pos)
}

// dirSeek is lseek of a directory: back to the start only (what
// os.File.Seek(0, 0) and readdir's restart do).
func dirSeek(e *fdEntry, off int64, whence int) int64 {
	if off != 0 || whence != 0 {
		return -_EINVAL
	}
	e.pos = 0
	return 0
}

// sysFtruncate is ftruncate.
func sysFtruncate(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	switch {
	case e == nil:
		return done(-_EBADF)
	case ops(e).truncate == nil:
		return done(-_EINVAL)
	}
	return done(ops(e).truncate(e, int64(a[1])))
}

// sysGetdents64 is getdents64.
func sysGetdents64(t *thread, a sysArgs) (int64, sysResult) {
	e := fdGet(a[0])
	switch {
	case e == nil:
		return done(-_EBADF)
	case ops(e).getdents == nil:
		return done(-_ENOTDIR)
	}
	return done(ops(e).getdents(e, a[1], a[2]))
}

// neverReady is the readiness of fds epoll accepts but never reports.
func neverReady(e *fdEntry, w *watch) uint32 { return 0 }

// stdinRead: standard input is always at end of file.
func stdinRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if at {
		return -_ESPIPE
	}
	return 0
}

// The console is line buffered: every PUTS is a VM exit, which costs
// far more than a Linux write to a terminal, and Go's runtime writes a
// traceback a few bytes at a time. consoleWrite collects the program's
// writes in conBuf and prints it when a write ends a line or it is full;
// the kernel's own messages, halt and the idle loop's POLL print what is
// left first, so nothing is lost and output stays in order.
var (
	conBuf [4096]byte
	conLen uintptr
)

// consoleFlush prints the console buffer.
func consoleFlush() {
	if conLen > 0 {
		n := conLen
		conLen = 0
		putsRaw(uintptr(unsafe.Pointer(&conBuf)), n)
	}
}

// consoleWrite writes to the console through conBuf.
func consoleWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if at {
		return -_ESPIPE
	}
	d := uintptr(0)
	line := false
	for d < n {
		if conLen == uintptr(len(conBuf)) {
			consoleFlush()
		}
		c := min(n-d, uintptr(len(conBuf))-conLen)
		if !copyIn(unsafe.Pointer(&conBuf[conLen]), buf+d, c) {
			if d == 0 {
				return -_EFAULT
			}
			break
		}
		for _, b := range conBuf[conLen : conLen+c] {
			if b == '\n' {
				line = true
			}
		}
		conLen += c
		d += c
	}
	if line {
		consoleFlush()
	}
	return int64(d)
}

func consoleStat(e *fdEntry) statInfo {
	return statInfo{mode: 0o020620} // S_IFCHR, a terminal's mode
}

func sysEventfd2(t *thread, a sysArgs) (int64, sysResult) {
	fd := fdAlloc(fdEventfd)
	if fd >= 0 {
		fdAt(fd).count = uint64(uint32(a[0]))
	}
	return done(fdCloexec(fd, a[1]))
}

func eventfdRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	return counterRead(&e.count, buf, n, at)
}

// counterRead is the read of an eventfd-like counter (an eventfd, the
// socket doorbell): its value as 8 bytes, after which it is 0, or EAGAIN
// while it is 0.
func counterRead(c *uint64, buf, n uintptr, at bool) int64 {
	switch {
	case at:
		return -_ESPIPE
	case n < 8:
		return -_EINVAL
	case *c == 0:
		return -_EAGAIN
	case !putU64(buf, *c):
		return -_EFAULT
	}
	*c = 0
	return 8
}

func eventfdWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if at {
		return -_ESPIPE
	}
	v, ok := getU64(buf)
	if n < 8 || !ok {
		return -_EINVAL
	}
	e.count += v
	readinessChanged = true
	return 8
}

func eventfdReady(e *fdEntry, w *watch) uint32 {
	if e.count > 0 {
		return _EPOLLIN
	}
	return 0
}
