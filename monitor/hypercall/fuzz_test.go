package hypercall

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/guestabi"
)

// maxFuzzPoll bounds the POLL timeouts the fuzzers let through, so that no
// input sleeps for long.
const maxFuzzPoll = 1_000_000 // 1 ms

// checkFuzzErr: with fakes that never fail, every error must be the
// guest's; anything else means a handler let a bad value reach a device
// (fakeBlock complains about out-of-range requests) or misclassified.
func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var he *Error
	if !errors.Is(err, ErrGuest) || !(errors.As(err, &he) || errors.Is(err, ErrInvalidHypercall)) {
		t.Fatalf("error not caused by the guest: %v", err)
	}
}

// FuzzDispatch lays fuzz bytes into guest memory (at the argument GPA, at
// two fixed buffers and against the top of memory) and dispatches any
// number: whatever the bytes say, nothing panics, blocks, or fails for any
// reason but a guest mistake.
func FuzzDispatch(f *testing.F) {
	e := newEnv(f)
	for nr := uint8(0); nr <= guestabi.NumHypercalls; nr++ {
		f.Add(nr, uint64(argGPA), []byte{})
	}
	f.Add(uint8(guestabi.HypercallPuts), uint64(argGPA), encPuts(bufGPA, 16))
	f.Add(uint8(guestabi.HypercallPoll), uint64(argGPA), encPoll(500))
	f.Add(uint8(guestabi.HypercallBlockWrite), uint64(argGPA), encBlock(hBlock, blkBS, bufGPA, blkBS))
	f.Add(uint8(guestabi.HypercallBlockRead), uint64(argGPA), encBlock(hBlockRO, 4096, bufGPA, 4096))
	f.Add(uint8(guestabi.HypercallNetWrite), uint64(argGPA), encNet(hNet, bufGPA, 60))
	f.Add(uint8(guestabi.HypercallNetRead), uint64(argGPA), encNet(hNet, argGPA, 2048))
	f.Add(uint8(guestabi.HypercallHalt), uint64(argGPA), encHalt(bufGPA, 255))
	f.Add(uint8(guestabi.HypercallHalt), uint64(memSize-guestabi.HaltSize-1), encHalt(memSize-guestabi.HaltCookieMax, 1))
	f.Add(uint8(guestabi.HypercallPuts), uint64(memSize-guestabi.PutsSize), encPuts(0, 0))
	f.Add(uint8(guestabi.HypercallBlockRead), uint64(math.MaxUint64-10), []byte{1})

	f.Fuzz(func(t *testing.T, nr uint8, arg uint64, image []byte) {
		if len(image) > 0x3000 {
			image = image[:0x3000]
		}
		var written [][]byte
		lay := func(gpa uint64) {
			if b, err := e.mem.Bytes(gpa, uint64(len(image))); err == nil {
				copy(b, image)
				written = append(written, b)
			}
		}
		lay(arg)
		lay(bufGPA)
		lay(2 * bufGPA)
		lay(memSize - uint64(len(image)) - 1)
		defer func() {
			for _, b := range written {
				clear(b)
			}
		}()
		if nr == uint8(guestabi.HypercallPoll) {
			if b, err := e.mem.Bytes(arg, 8); err == nil {
				binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)%maxFuzzPoll)
			}
		}
		e.console.Reset()
		e.net.rx = [][]byte{frame(60)}
		e.net.tx = nil

		h, err := e.d.Dispatch(e.mem, uint64(nr), arg)
		checkFuzzErr(t, err)
		if nr == 0 || nr >= guestabi.NumHypercalls {
			if !errors.Is(err, ErrInvalidHypercall) {
				t.Fatalf("nr %d: got %v, want ErrInvalidHypercall", nr, err)
			}
		}
		if h != nil && (nr != uint8(guestabi.HypercallHalt) || err != nil) {
			t.Fatalf("nr %d returned a Halt (err %v)", nr, err)
		}
		if h != nil && h.Cookie != nil && len(h.Cookie) != guestabi.HaltCookieMax {
			t.Fatalf("cookie of %d bytes", len(h.Cookie))
		}
	})
}

// overlapsArg reports whether a valid guest buffer [data, data+n) shares
// bytes with the argument struct at argGPA: a guest may do that, and then
// the data and the struct's fields legitimately overwrite each other.
func overlapsArg(data, n, size uint64) bool {
	return data < argGPA+size && argGPA < data+n
}

// FuzzBlock drives BLOCK_WRITE and BLOCK_READ with arbitrary fields and
// checks that only requests inside the rules reach a device, and that an
// OK request moved exactly one block at the right offset.
func FuzzBlock(f *testing.F) {
	e := newEnv(f)
	f.Add(true, uint64(hBlock), uint64(blkBS), uint64(bufGPA), uint64(blkBS))
	f.Add(false, uint64(hBlock), uint64(0), uint64(bufGPA), uint64(blkBS))
	f.Add(true, uint64(hBlockRO), uint64(4096), uint64(bufGPA), uint64(4096))
	f.Add(false, uint64(hBlockRO), uint64(4096), uint64(memSize-4097), uint64(4096))
	f.Add(false, uint64(hBlock), uint64(blkCap-1), uint64(bufGPA), uint64(1))
	f.Add(true, uint64(1<<32+hBlock), uint64(0), uint64(bufGPA), uint64(blkBS))
	f.Add(false, uint64(hBlock), uint64(blkBS), uint64(math.MaxUint64), uint64(math.MaxUint64-blkBS+1))
	pattern := bytes.Repeat([]byte{0xc3, 0x3c}, 2048)

	f.Fuzz(func(t *testing.T, write bool, handle, off, data, n uint64) {
		nr := guestabi.HypercallBlockRead
		if write {
			nr = guestabi.HypercallBlockWrite
		}
		overlap := false
		if b, err := e.mem.Bytes(data, n); err == nil {
			overlap = overlapsArg(data, n, guestabi.BlockIOSize)
			if n <= uint64(len(pattern)) {
				copy(b, pattern)
				defer clear(b)
			}
		}
		e.put(t, argGPA, encBlock(handle, off, data, n))
		calls := e.blk.calls + e.blkRO.calls
		_, err := e.call(nr, argGPA)
		checkFuzzErr(t, err)
		got := e.blockAt(t, argGPA)
		used := e.blk.calls+e.blkRO.calls != calls
		if err != nil {
			if got.Ret != retMark || used {
				t.Fatalf("fatal error %v, yet ret %d written or device used %v", err, got.Ret, used)
			}
			return
		}
		if overlap && !write {
			// The read data replaced the fields; only ret is the monitor's.
			return
		}
		if got.Handle != handle || got.Offset != off || got.Data != data || got.Len != n {
			t.Fatalf("IN fields changed: %+v", got)
		}
		var dev *fakeBlock
		switch handle {
		case hBlock:
			dev = e.blk
		case hBlockRO:
			dev = e.blkRO
		}
		switch got.Ret {
		case guestabi.ResultOK:
			if dev == nil || n != uint64(dev.bs) || off%uint64(dev.bs) != 0 || off >= dev.Capacity() || !used {
				t.Fatalf("OK for handle %d offset %#x len %d", handle, off, n)
			}
			if !overlap && !bytes.Equal(dev.data[off:off+n], e.bytesAt(t, data, n)) {
				t.Fatal("device and guest buffer differ after an OK transfer")
			}
		case guestabi.ResultEUNSPEC:
			if dev != e.blkRO || !write {
				t.Fatalf("EUNSPEC for handle %d write=%v", handle, write)
			}
		case guestabi.ResultEINVAL:
			if used {
				t.Fatal("EINVAL, yet the device was used")
			}
		default:
			t.Fatalf("ret %d", got.Ret)
		}
	})
}

// FuzzNet drives NET_WRITE and NET_READ with arbitrary fields and a queued
// frame of arbitrary size.
func FuzzNet(f *testing.F) {
	e := newEnv(f)
	f.Add(true, uint64(hNet), uint64(bufGPA), uint64(60), uint16(0))
	f.Add(false, uint64(hNet), uint64(bufGPA), uint64(2048), uint16(60))
	f.Add(false, uint64(hNet), uint64(bufGPA), uint64(10), uint16(1514))
	f.Add(false, uint64(hNet), uint64(argGPA), uint64(64), uint16(64))
	f.Add(true, uint64(hNet), uint64(bufGPA), uint64(1515), uint16(0))
	f.Add(true, uint64(hBlock), uint64(bufGPA), uint64(60), uint16(0))
	f.Add(false, uint64(1<<32+hNet), uint64(math.MaxUint64), uint64(2), uint16(0))

	f.Fuzz(func(t *testing.T, write bool, handle, data, n uint64, frameLen uint16) {
		nr := guestabi.HypercallNetRead
		if write {
			nr = guestabi.HypercallNetWrite
		}
		e.net.tx = nil
		e.net.rx = nil
		if frameLen > 0 {
			e.net.rx = [][]byte{frame(int(frameLen))}
		}
		overlap := false
		if b, err := e.mem.Bytes(data, n); err == nil {
			overlap = overlapsArg(data, n, guestabi.NetIOSize)
			defer clear(b[:min(n, 0x10000)])
		}
		e.put(t, argGPA, encNet(handle, data, n))
		_, err := e.call(nr, argGPA)
		checkFuzzErr(t, err)
		got := e.netAt(t, argGPA)
		consumed := frameLen > 0 && len(e.net.rx) == 0
		if err != nil {
			if got.Ret != retMark || got.Len != n || len(e.net.tx) != 0 || consumed {
				t.Fatalf("fatal error %v, yet struct %+v written or device used", err, got)
			}
			return
		}
		if overlap && !write && got.Ret != guestabi.ResultEINVAL {
			// A frame read over the struct replaced its fields.
			return
		}
		if got.Handle != handle || got.Data != data {
			t.Fatalf("IN fields changed: %+v", got)
		}
		switch {
		case got.Ret == guestabi.ResultEINVAL:
			if len(e.net.tx) != 0 || consumed || got.Len != n {
				t.Fatalf("EINVAL, yet the device was used or len changed: %+v", got)
			}
		case handle != hNet:
			t.Fatalf("ret %d for handle %d", got.Ret, handle)
		case write && got.Ret == guestabi.ResultOK:
			if n < guestabi.EthernetHeaderSize || n > netMTU+guestabi.EthernetHeaderSize || len(e.net.tx) != 1 || uint64(len(e.net.tx[0])) != n || got.Len != n {
				t.Fatalf("NET_WRITE OK of %d bytes, device got %d frames", n, len(e.net.tx))
			}
		case !write && got.Ret == guestabi.ResultOK:
			if want := min(uint64(frameLen), n); got.Len != want || want == 0 || !bytes.Equal(e.bytesAt(t, data, want), frame(int(frameLen))[:want]) {
				t.Fatalf("NET_READ OK: len %d, want %d", got.Len, want)
			}
		case !write && got.Ret == guestabi.ResultAgain:
			if got.Len != n || (frameLen != 0 && n != 0) {
				t.Fatalf("AGAIN: len %d (in %d), frame %d", got.Len, n, frameLen)
			}
		default:
			t.Fatalf("ret %d", got.Ret)
		}
	})
}

// FuzzPoll: with any subset of three pollables ready and a timeout below
// 1 ms, POLL reports exactly the ready ones.
func FuzzPoll(f *testing.F) {
	e := newEnv(f)
	handles := []int{hNet, 5, 63}
	fds := []int{e.net.efd}
	for _, h := range handles[1:] {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { unix.Close(fd) })
		if err := e.core.AddPollable(h, fd); err != nil {
			f.Fatal(err)
		}
		fds = append(fds, fd)
	}
	f.Add(uint32(0), uint8(0))
	f.Add(uint32(1), uint8(7))
	f.Add(uint32(999_999), uint8(4))
	f.Add(uint32(math.MaxUint32), uint8(2))

	f.Fuzz(func(t *testing.T, timeout uint32, ready uint8) {
		var want uint64
		for i, fd := range fds {
			r := ready&(1<<i) != 0
			setEventfd(t, fd, r)
			defer setEventfd(t, fd, false)
			if r {
				want |= 1 << handles[i]
			}
		}
		p, err := e.poll(t, uint64(timeout)%maxFuzzPoll)
		if err != nil {
			t.Fatal(err)
		}
		// Ready fds sit on epoll's ready list before the wait starts, so
		// one epoll_pwait reports all of them, whatever the timer does.
		if p.ReadySet != want || int(p.Ret) != bits.OnesCount64(want) {
			t.Fatalf("ready %03b: ready_set %#x ret %d, want %#x", ready, p.ReadySet, p.Ret, want)
		}
	})
}
