//go:build linux

package bindings

import (
	"unsafe"

	"github.com/unimon/unimon/guestabi"
)

// Devices: the Solo5 block and net devices the manifest declares (and the
// monitor attached) are files at DevicePrefix+NAME. openat of such a path
// gives a file descriptor of kind fdBlock or fdNet whose handle is the
// manifest index, which is the Solo5 handle.
//
// Block fds: read, write, pread64, pwrite64 and lseek at any offset and
// length, done as whole-block BLOCK_READ/BLOCK_WRITE hypercalls through
// ioBuf (read-modify-write for partial blocks); fstat reports the
// capacity. They are not pollable (epoll_ctl says EPERM, as Linux does for
// regular files), so the Go runtime does plain blocking I/O on them.
//
// Net fds: read returns one frame (NET_READ) and write sends one
// (NET_WRITE). With O_NONBLOCK (os.File sets it) a read with nothing to
// read fails with EAGAIN and the runtime's netpoller waits; without it (a
// raw syscall.Read after os.File.Fd, say) the thread blocks in the kernel
// until the device is ready and then runs its read again. Net fds are
// pollable, edge-triggered the way the Go runtime registers them
// (EPOLLET). Readiness comes from POLL's ready_set (netPolled): the idle
// loop's POLL, which sleeps until input or the next deadline, and, while
// the program is busy, a POLL without timeout at most every netPollGap
// (non-blocking epoll waits, thread switches). A device is "ready" from a
// POLL that reports it until a read finds nothing. When the idle loop's
// POLL reports a device that is ready already (nobody is reading it: no
// thread can run), its frames are moved into a small receive queue,
// dropped when that is full, like a NIC's ring, so that POLL can sleep
// again: a program that stops reading does not turn the idle loop into a
// busy one. Frames for a device no fd has open are dropped for the same
// reason.

// DevicePrefix is the directory in which the manifest's attached devices
// appear as files: DevicePrefix + "disk" is the device named "disk".
const DevicePrefix = "/dev/solo5/"

const (
	mftTypeBlock = uint32(guestabi.DeviceBlockBasic)
	mftTypeNet   = uint32(guestabi.DeviceNetBasic)

	_O_ACCMODE  = 3
	_O_RDONLY   = 0
	_O_WRONLY   = 1
	_O_NONBLOCK = 0x800
	_F_GETFL    = 3
	_F_SETFL    = 4

	// maxIO bounds one block transfer: the kernel does not preempt itself,
	// so a long transfer ends early and the program's next call continues
	// it after other threads had their turn (Go's ReadAt/WriteAt loop).
	maxIO = 256 << 10

	// rxPages is the receive queue of an open net device, in pages: a
	// frame takes ceil((MTU+14)/4096) of them.
	rxPages = 32

	// netPollGap is how often (ns) a non-blocking epoll wait asks the
	// host about net input while the program is busy: POLL is a VM exit,
	// and the Go runtime polls often.
	netPollGap = 1_000_000
)

// ioBuf is the bounce buffer of every block and net hypercall: it is in
// the kernel image, identity mapped below 4 GiB, while the program's
// buffers are above 4 GiB where no hypercall can point. It holds the
// largest frame (MTU 65535 + 14) and the largest block (32 KiB).
var ioBuf [65536 + 64]byte

func ioBufAddr() uintptr { return uintptr(unsafe.Pointer(&ioBuf)) }

// netDev is the kernel's state of net device handle h while an open file
// description has it open (only one at a time can; its dups share it).
type netDev struct {
	file  int32  // the description's index in files + 1; 0 when not open
	ready bool   // a frame may be waiting (see above)
	pps   uint32 // pages per queued frame
	slots uint32 // frames the queue holds
	head  uint32
	count uint32
	pages [rxPages]uintptr
	lens  [rxPages]uint32
}

var (
	netDevs  [guestabi.ManifestMaxEntries]netDev
	netOpen  int   // how many net fds are open
	lastPoll int64 // when POLL last ran (monotonic ns)
)

// mftEntry returns the address of manifest entry i, or 0 if there is no
// such entry (the manifest copy is identity-mapped low memory).
func mftEntry(i int) uintptr {
	m := uintptr(bootInfo.Manifest)
	if m == 0 || i < 0 {
		return 0
	}
	n := int(*(*uint32)(ptr(m + 4)))
	if i >= n || i >= guestabi.ManifestMaxEntries {
		return 0
	}
	return m + guestabi.ManifestHeaderSize + uintptr(i)*guestabi.ManifestEntrySize
}

// mftLookup returns the index of the attached block or net device called
// name, or -1.
func mftLookup(name []byte) int {
	if len(name) == 0 || len(name) >= guestabi.DeviceNameSize {
		return -1
	}
	for i := 1; i < guestabi.ManifestMaxEntries; i++ {
		e := mftEntry(i)
		if e == 0 {
			break
		}
		en := (*[guestabi.DeviceNameSize]byte)(ptr(e))
		if en[len(name)] != 0 || string(en[:len(name)]) != string(name) {
			continue
		}
		typ := *(*uint32)(ptr(e + guestabi.EntryTypeOff))
		if *(*byte)(ptr(e + guestabi.EntryAttachedOff)) == 0 || (typ != mftTypeBlock && typ != mftTypeNet) {
			return -1
		}
		return i
	}
	return -1
}

func mftType(h uint32) uint32  { return *(*uint32)(ptr(mftEntry(int(h)) + guestabi.EntryTypeOff)) }
func blockCap(h uint32) uint64 { return *u64at(mftEntry(int(h)) + guestabi.EntryCapacityOff) }
func blockSize(h uint32) uint64 {
	return uint64(*(*uint16)(ptr(mftEntry(int(h)) + guestabi.EntryBlockSizeOff)))
}
func netMaxFrame(h uint32) uintptr {
	return uintptr(*(*uint16)(ptr(mftEntry(int(h)) + guestabi.EntryMTUOff))) + guestabi.EthernetHeaderSize
}

// deviceOpen opens the device rel of the /dev/solo5 mount (vfs.go).
func deviceOpen(t *thread, rel []byte, flags int, mode uint32) int64 {
	h := mftLookup(rel)
	if h < 0 {
		return -_ENOENT
	}
	kind := uint32(fdBlock)
	if mftType(uint32(h)) == mftTypeNet {
		kind = fdNet
		if netDevs[h].file != 0 {
			return -_EBUSY
		}
	}
	fd := fdAlloc(kind)
	if fd < 0 {
		return fd
	}
	fdAt(fd).handle = uint32(h)
	fdAt(fd).flags = uint32(flags & (_O_ACCMODE | _O_NONBLOCK))
	if kind == fdNet {
		netOpenDev(uint32(h), int32(fdFile(uintptr(fd))))
	}
	return fd
}

// deviceStat describes /dev/solo5 (rel "") and its devices.
func deviceStat(rel []byte) (statInfo, int64) {
	if len(rel) == 0 {
		return statInfo{mode: _S_IFDIR | 0o755}, 0
	}
	h := mftLookup(rel)
	if h < 0 {
		return statInfo{}, -_ENOENT
	}
	e := fdEntry{handle: uint32(h)}
	if mftType(uint32(h)) == mftTypeNet {
		return netStat(&e), 0
	}
	return blockStat(&e), 0
}

// netOpenDev sets up the state of net device h for fd; its receive queue
// gets its pages when it is first needed.
func netOpenDev(h uint32, file int32) {
	d := &netDevs[h]
	*d = netDev{file: file + 1}
	d.pps = uint32((netMaxFrame(h) + pageSize - 1) / pageSize)
	d.slots = max(rxPages/d.pps, 1)
	if d.pps > rxPages {
		d.slots = 0 // jumbo frames beyond the queue: drop rather than queue
	}
	netOpen++
}

func netCloseDev(h uint32) {
	netWakeReaders(h) // their read runs again and finds the fd closed
	d := &netDevs[h]
	for i := range d.pages {
		if d.pages[i] != 0 {
			freeFrame(d.pages[i])
		}
	}
	*d = netDev{}
	netOpen--
}

func hcResult(r guestabi.Result) int64 {
	switch r {
	case guestabi.ResultOK:
		return 0
	case guestabi.ResultEINVAL:
		return -_EINVAL
	}
	return -_EIO
}

// blockCall issues BLOCK_READ or BLOCK_WRITE of one block at off through
// ioBuf.
func blockCall(nr guestabi.Hypercall, h uint32, off, bs uint64) int64 {
	b := guestabi.BlockIO{Handle: uint64(h), Offset: off, Data: uint64(ioBufAddr()), Len: bs}
	b.Encode(hcArg[:])
	hypercall(nr)
	b.Decode(hcArg[:])
	return hcResult(b.Ret)
}

// blockIO reads or writes n bytes of the program's buf at byte offset off
// of block device h, a block at a time; a partial block is read first and
// written back whole. It returns the bytes done, or an error if none were.
func blockIO(h uint32, buf, n uintptr, off int64, write bool) int64 {
	capacity, bs := blockCap(h), blockSize(h)
	switch {
	case bs == 0 || bs > 1<<15 || bs&(bs-1) != 0:
		return -_EIO // not a geometry a monitor can attach; never loop on it
	case off < 0:
		return -_EINVAL
	case uint64(off) >= capacity:
		if write && n > 0 {
			return -_ENOSPC
		}
		return 0
	}
	n = min(n, uintptr(capacity-uint64(off)), maxIO)
	done := uintptr(0)
	for done < n {
		o := uint64(off) + uint64(done)
		blk := o &^ (bs - 1)
		in := uintptr(o - blk)
		c := min(uintptr(bs)-in, n-done)
		var r int64
		if !write || c < uintptr(bs) {
			r = blockCall(guestabi.HypercallBlockRead, h, blk, bs)
		}
		switch {
		case r != 0:
		case !write:
			if !copyOut(buf+done, unsafe.Pointer(&ioBuf[in]), c) {
				r = -_EFAULT
			}
		case !copyIn(unsafe.Pointer(&ioBuf[in]), buf+done, c):
			r = -_EFAULT
		default:
			r = blockCall(guestabi.HypercallBlockWrite, h, blk, bs)
		}
		if r != 0 {
			if done > 0 {
				break // what was done counts, as in a short read
			}
			return r
		}
		done += c
	}
	return int64(done)
}

// netRead receives one frame of device h into ioBuf: its length, 0 for
// none (AGAIN), or an error.
func netRead(h uint32) int64 {
	r := guestabi.NetIO{Handle: uint64(h), Data: uint64(ioBufAddr()), Len: uint64(netMaxFrame(h))}
	r.Encode(hcArg[:])
	hypercall(guestabi.HypercallNetRead)
	r.Decode(hcArg[:])
	if r.Ret == guestabi.ResultAgain {
		return 0
	}
	if err := hcResult(r.Ret); err != 0 {
		return err
	}
	return int64(min(uintptr(r.Len), netMaxFrame(h)))
}

// sysNetRead gives the program the oldest frame (queued, else from the
// host), truncated to n bytes as a tap read does.
func sysNetRead(h uint32, buf, n uintptr) int64 {
	d := &netDevs[h]
	if d.count > 0 {
		first := d.head * d.pps
		l := uintptr(d.lens[d.head])
		c := min(l, n)
		for off := uintptr(0); off < c; off += pageSize {
			if !copyOut(buf+off, ptr(d.pages[first+uint32(off/pageSize)]), min(pageSize, c-off)) {
				return -_EFAULT
			}
		}
		d.head = (d.head + 1) % d.slots
		d.count--
		return int64(c)
	}
	r := netRead(h)
	if r == 0 {
		d.ready = false
		return -_EAGAIN
	}
	if r < 0 {
		return r
	}
	c := min(uintptr(r), n)
	if !copyOut(buf, unsafe.Pointer(&ioBuf), c) {
		return -_EFAULT
	}
	return int64(c)
}

func sysNetWrite(h uint32, buf, n uintptr) int64 {
	if n < guestabi.EthernetHeaderSize || n > netMaxFrame(h) {
		return -_EINVAL
	}
	if !copyIn(unsafe.Pointer(&ioBuf), buf, n) {
		return -_EFAULT
	}
	w := guestabi.NetIO{Handle: uint64(h), Data: uint64(ioBufAddr()), Len: uint64(n)}
	w.Encode(hcArg[:])
	hypercall(guestabi.HypercallNetWrite)
	w.Decode(hcArg[:])
	if err := hcResult(w.Ret); err != 0 {
		return err
	}
	return int64(n)
}

// netQueue moves the frames waiting on the host for device h into its
// receive queue, dropping those that do not fit, until the host has none
// (or a bound, so a flood cannot keep the kernel here).
func netQueue(h uint32) {
	d := &netDevs[h]
	for i := 0; i < 256; i++ {
		r := netRead(h)
		if r <= 0 {
			return // AGAIN; an error is the program's to see on its next read
		}
		if d.file == 0 || d.count == d.slots {
			stats.netDropped++
			continue
		}
		slot := (d.head + d.count) % d.slots
		first := slot * d.pps
		ok := true
		for p := uint32(0); p < d.pps; p++ {
			if d.pages[first+p] == 0 {
				d.pages[first+p] = allocFrame()
			}
			ok = ok && d.pages[first+p] != 0
		}
		if !ok {
			stats.netDropped++
			continue
		}
		for off := uintptr(0); off < uintptr(r); off += pageSize {
			copy((*[pageSize]byte)(ptr(d.pages[first+uint32(off/pageSize)]))[:min(pageSize, uintptr(r)-off)], ioBuf[off:])
		}
		d.lens[slot] = uint32(r)
		d.count++
	}
}

// netPolled takes a POLL's ready_set: a device that becomes ready wakes
// its blocked readers and gives its watches an edge, which wakes the epoll
// waits. From the idle loop (idle), a device already ready that nobody
// has read, and one that is not open, has its frames queued or dropped,
// so that the next POLL sleeps; elsewhere a thread may be about to read
// them, and the host keeps them.
func netPolled(set uint64, idle bool) {
	woke := false
	for h := uint32(1); h < guestabi.ManifestMaxEntries; h++ {
		if set&(1<<h) == 0 {
			continue
		}
		d := &netDevs[h]
		if d.file != 0 && !d.ready {
			d.ready = true
			netWakeReaders(h)
			for i := range watches {
				if watches[i].used && watches[i].file == d.file-1 {
					watches[i].edge = true
				}
			}
			woke = true
			continue
		}
		if idle {
			netQueue(h)
		}
	}
	if woke {
		epollWake()
	}
}

// netWaitRead parks thread t, whose read of net fd e found nothing,
// until the device is ready, if the fd is in blocking mode: the thread
// then runs the same read again, as Linux restarts a system call.
func netWaitRead(e *fdEntry, t *thread) bool {
	if e.flags&_O_NONBLOCK != 0 {
		return false
	}
	t.waitArg = uint64(e.handle)
	park(t, waitNet, 0)
	return true
}

// netWakeReaders makes the threads blocked reading device h run their
// read again.
func netWakeReaders(h uint32) {
	for i := range slots() {
		t := &threads[i]
		if t.state == tBlocked && t.wait == waitNet && t.waitArg == uint64(h) {
			wake(i, 0)
		}
	}
}

// pollNet asks the host about net input without waiting, at most every
// netPollGap; it runs at non-blocking epoll waits and thread switches,
// because the idle loop's POLL only runs when the program is idle.
func pollNet() {
	if netOpen == 0 || now()-lastPoll < netPollGap {
		return
	}
	netPolled(pollHost(0), false)
}

// The operations of block and net fds (fdOps).

// devFcntl keeps O_NONBLOCK of the device fds (F_GETFL, F_SETFL).
func devFcntl(e *fdEntry, cmd int, arg uintptr) int64 {
	switch cmd {
	case _F_GETFL:
		return int64(e.flags)
	case _F_SETFL:
		e.flags = e.flags&^_O_NONBLOCK | uint32(arg)&_O_NONBLOCK
	}
	return 0
}

// blockStat reports the capacity, so os.File.Stat().Size() works.
func blockStat(e *fdEntry) statInfo {
	size := blockCap(e.handle)
	return statInfo{mode: 0o060660, size: size, blksize: blockSize(e.handle), blocks: size / 512} // S_IFBLK
}

func netStat(e *fdEntry) statInfo {
	return statInfo{mode: 0o020660, blksize: pageSize} // S_IFCHR
}

// blockSync is fsync of a block fd: nothing to wait for, because Solo5's
// BLOCK_WRITE returns only once the monitor has written the data to the
// device (hvt's pwrite completes before the hypercall returns), and the
// bindings keep no cache.
func blockSync(e *fdEntry) int64 { return 0 }

func blockSeek(e *fdEntry, off int64, whence int) int64 {
	return seekTo(e, off, whence, int64(blockCap(e.handle)))
}

// devMay reports whether the fd's access mode allows reading (write
// false) or writing.
func devMay(e *fdEntry, write bool) bool {
	if write {
		return e.flags&_O_ACCMODE != _O_RDONLY
	}
	return e.flags&_O_ACCMODE != _O_WRONLY
}

func blockRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	return blockRW(e, buf, n, off, at, false)
}

func blockWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	return blockRW(e, buf, n, off, at, true)
}

func blockRW(e *fdEntry, buf, n uintptr, off int64, at, write bool) int64 {
	if !devMay(e, write) {
		return -_EBADF
	}
	if at {
		return blockIO(e.handle, buf, n, off, write)
	}
	r := blockIO(e.handle, buf, n, int64(e.pos), write)
	if r > 0 {
		e.pos += uint64(r)
	}
	return r
}

func netFileRead(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if r := netFileCheck(e, at, false); r != 0 {
		return r
	}
	return sysNetRead(e.handle, buf, n)
}

func netFileWrite(e *fdEntry, buf, n uintptr, off int64, at bool) int64 {
	if r := netFileCheck(e, at, true); r != 0 {
		return r
	}
	return sysNetWrite(e.handle, buf, n)
}

// netFileCheck is the error of a read or write of a net fd that its
// access mode forbids or that gives an offset, or 0.
func netFileCheck(e *fdEntry, at, write bool) int64 {
	switch {
	case !devMay(e, write):
		return -_EBADF
	case at:
		return -_ESPIPE
	}
	return 0
}

// netReady is EPOLLIN while the device is ready (level), or once per
// time it becomes ready (EPOLLET: the edge netPolled sets).
func netReady(e *fdEntry, w *watch) uint32 {
	if w.events&_EPOLLIN == 0 {
		return 0
	}
	r := netDevs[e.handle].ready
	if w.events&_EPOLLET != 0 {
		r = w.edge
		w.edge = false
	}
	if r {
		return _EPOLLIN
	}
	return 0
}

func netClose(e *fdEntry) { netCloseDev(e.handle) }
