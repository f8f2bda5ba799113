package hypercall

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/unimon/unimon/devices"
	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor/guestmem"
)

// Block is the block module: BLOCK_WRITE and BLOCK_READ on the guest's
// BLOCK_BASIC devices.
type Block struct {
	devs map[int]devices.Block
	// info is filled by Register: geometry read once, because the checks a
	// guest request must pass have to agree with what the manifest told
	// the guest, and a fixed device's size never changes.
	info map[int]blockInfo
}

// blockInfo is one device with its geometry.
type blockInfo struct {
	dev       devices.Block
	capacity  uint64
	blockSize uint64
}

// NewBlock returns the block module for devs, keyed by manifest handle
// (1..63). The map is copied; Register checks it.
func NewBlock(devs map[int]devices.Block) *Block {
	b := &Block{devs: make(map[int]devices.Block, len(devs))}
	for h, d := range devs {
		b.devs[h] = d
	}
	return b
}

// Register checks every device (handle, block size a power of two of at
// least 512, capacity a non-zero multiple of it) and registers BLOCK_WRITE
// and BLOCK_READ with d (all or none).
func (b *Block) Register(d *Dispatcher) error {
	info := make(map[int]blockInfo, len(b.devs))
	for h, dev := range b.devs {
		if !validHandle(h) {
			return fmt.Errorf("hypercall block: handle %d is not a manifest index (1..%d)", h, guestabi.ManifestMaxEntries-1)
		}
		if dev == nil {
			return fmt.Errorf("hypercall block: device %d is nil", h)
		}
		bs, capacity := uint64(dev.BlockSize()), dev.Capacity()
		// Upstream's setup rules; they also keep the handlers' arithmetic
		// (offset % block size, offset as int64) well defined.
		if bs < 512 || bs&(bs-1) != 0 {
			return fmt.Errorf("hypercall block: device %d: block size %d is not a power of two >= 512", h, bs)
		}
		if capacity < bs || capacity%bs != 0 {
			return fmt.Errorf("hypercall block: device %d: capacity %d is not a non-zero multiple of its block size %d", h, capacity, bs)
		}
		if capacity > math.MaxInt64 {
			return fmt.Errorf("hypercall block: device %d: capacity %d does not fit an int64 offset", h, capacity)
		}
		info[h] = blockInfo{dev: dev, capacity: capacity, blockSize: bs}
	}
	if err := d.registerAll([]registration{
		{guestabi.HypercallBlockWrite, b.write},
		{guestabi.HypercallBlockRead, b.read},
	}); err != nil {
		return err
	}
	b.info = info
	return nil
}

// check applies the checks that answer EINVAL rather than a fatal error.
// The first three are upstream's tender; the alignment and one-block rules
// are upstream's guest bindings (solo5_block_read/write), repeated here as
// deliberate hardening: the monitor must not trust a guest to have used
// Solo5's bindings, and devices.Block promises its backends whole blocks.
func (b *Block) check(req *guestabi.BlockIO) (blockInfo, bool) {
	h, ok := deviceHandle(req.Handle)
	if !ok {
		return blockInfo{}, false
	}
	dev, ok := b.info[h]
	switch {
	case !ok:
		return blockInfo{}, false
	case req.Len > math.MaxInt64: // upstream: len > SSIZE_MAX
		return blockInfo{}, false
	case req.Offset >= dev.capacity:
		return blockInfo{}, false
	case req.Offset+req.Len < req.Offset || req.Offset+req.Len > dev.capacity:
		return blockInfo{}, false
	case req.Offset%dev.blockSize != 0 || req.Len != dev.blockSize: // hardening
		return blockInfo{}, false
	}
	return dev, true
}

// setBlockRet stores ret into the argument struct. It decodes the struct
// again rather than reusing the copy read before the I/O, so that only ret
// changes even when a BLOCK_READ's buffer overlaps its own argument struct,
// as upstream (which stores t->ret alone).
func setBlockRet(b []byte, ret guestabi.Result) {
	var st guestabi.BlockIO
	st.Decode(b)
	st.Ret = ret
	st.Encode(b)
}

// write is BLOCK_WRITE.
func (b *Block) write(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	return b.transfer(mem, arg, guestabi.HypercallBlockWrite)
}

// read is BLOCK_READ.
func (b *Block) read(mem *guestmem.Memory, arg uint64) (*Halt, error) {
	return b.transfer(mem, arg, guestabi.HypercallBlockRead)
}

// transfer serves BLOCK_WRITE and BLOCK_READ, which differ only in the
// direction the block moves.
func (b *Block) transfer(mem *guestmem.Memory, arg uint64, call guestabi.Hypercall) (*Halt, error) {
	// ret is written whatever happens, so the struct must be writable
	// before anything else is done.
	s, err := checkedWritable(mem, call, arg, guestabi.BlockIOSize)
	if err != nil {
		return nil, err
	}
	var req guestabi.BlockIO
	req.Decode(s)
	dev, ok := b.check(&req)
	if !ok {
		setBlockRet(s, guestabi.ResultEINVAL)
		return nil, nil
	}
	access := checked
	if call == guestabi.HypercallBlockRead {
		access = checkedWritable // the device's data lands in it
	}
	data, err := access(mem, call, req.Data, req.Len)
	if err != nil {
		return nil, err
	}
	verb, did, short := "writing", "wrote", io.ErrShortWrite
	var n int
	if call == guestabi.HypercallBlockWrite {
		n, err = dev.dev.WriteAt(data, int64(req.Offset))
	} else {
		verb, did, short = "reading", "read", io.ErrUnexpectedEOF
		n, err = dev.dev.ReadAt(data, int64(req.Offset))
		// io.ReaderAt may return io.EOF with a full read of the last
		// bytes of the device; only a short count is a failure then.
		if n == len(data) && errors.Is(err, io.EOF) {
			err = nil
		}
	}
	switch {
	case errors.Is(err, devices.ErrReadOnly):
		// Not the guest's mistake in the call (its arguments are valid),
		// so not EINVAL; the guest can only learn "the device refused",
		// which is EUNSPEC. Upstream opens every device O_RDWR and has no
		// read-only devices.
		setBlockRet(s, guestabi.ResultEUNSPEC)
		return nil, nil
	case err != nil:
		return nil, &Error{Call: call, Err: fmt.Errorf("%s %d bytes at offset %#x of device %d: %w", verb, len(data), req.Offset, req.Handle, err)}
	case n != len(data):
		return nil, &Error{Call: call, Err: fmt.Errorf("%s %d bytes at offset %#x of device %d: %s %d: %w", verb, len(data), req.Offset, req.Handle, did, n, short)}
	}
	setBlockRet(s, guestabi.ResultOK)
	return nil, nil
}
