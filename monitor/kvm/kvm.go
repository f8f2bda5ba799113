// Package kvm is a thin, typed layer over the Linux KVM API: the system
// handle (/dev/kvm), VMs, vCPUs and memory slots. It knows nothing about
// unikernels, boot conventions or devices; those live in the packages
// above it.
//
// Every ioctl is retried on EINTR (Go's runtime signals threads often),
// except KVM_RUN, for which an interruption is a normal event reported as
// ErrInterrupted.
package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// APIVersion is the only KVM API version there has ever been in mainline.
const APIVersion = 12

// Sentinel errors.
var (
	// ErrUnavailable is wrapped by every failure to open /dev/kvm or to
	// find the KVM API this package needs.
	ErrUnavailable = errors.New("KVM is not available")
	// ErrInterrupted is returned by (*VCPU).Run when a signal or Kick
	// interrupted the guest; it is not a failure.
	ErrInterrupted = errors.New("KVM_RUN interrupted")
	// ErrFault is returned by (*VCPU).Run when KVM could not translate a
	// guest access to host memory (EFAULT): on standard KVM, a guest write
	// to memory the host mapped read-only.
	ErrFault = errors.New("host/guest translation fault")
)

// ioctl request numbers (linux/kvm.h), computed once here so the rest of
// the package reads like the KVM documentation.
const (
	kvmio = 0xAE

	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | kvmio<<8 | nr }
func io_(nr uintptr) uintptr            { return ioc(0, nr, 0) }
func ior(nr, size uintptr) uintptr      { return ioc(iocRead, nr, size) }
func iow(nr, size uintptr) uintptr      { return ioc(iocWrite, nr, size) }
func iowr(nr, size uintptr) uintptr     { return ioc(iocRead|iocWrite, nr, size) }

var (
	kvmGetAPIVersion       = io_(0x00)
	kvmCreateVM            = io_(0x01)
	kvmCheckExtension      = io_(0x03)
	kvmGetVCPUMmapSize     = io_(0x04)
	kvmCreateVCPU          = io_(0x41)
	kvmSetUserMemoryRegion = iow(0x46, unsafe.Sizeof(userspaceMemoryRegion{}))
	kvmCreateIRQChip       = io_(0x60)
	kvmEnableCap           = iow(0xa3, unsafe.Sizeof(enableCap{}))
	kvmRun                 = io_(0x80)
)

// Capabilities this package asks about (KVM_CAP_*).
const (
	CapIRQChip    = 0
	CapUserMemory = 3
	CapGetTSCKHz  = 61
	// CapSplitIRQChip: the local APIC in the kernel, the PIC and IOAPIC
	// left to userspace (which may then simply not have them).
	CapSplitIRQChip = 121
)

// ioctl issues a KVM ioctl whose argument is a number, retrying EINTR.
func ioctl(fd int, req, arg uintptr) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return r, errno
		}
		return r, nil
	}
}

// ioctlPtr issues a KVM ioctl whose argument points at a struct. The
// argument stays an unsafe.Pointer until the system call itself, which
// keeps the pointee alive and lets the runtime fix the pointer up if the
// goroutine's stack moves; a uintptr made earlier would go stale.
func ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return r, errno
		}
		return r, nil
	}
}

// System is an open /dev/kvm.
type System struct {
	fd       int
	mmapSize int
}

// Open opens /dev/kvm and checks the API version and the capabilities
// unimon relies on. Its errors wrap ErrUnavailable and say what to do.
func Open() (*System, error) {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("%w: /dev/kvm does not exist: enable virtualization for this host (on x86_64, load kvm_intel or kvm_amd)", ErrUnavailable)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return nil, fmt.Errorf("%w: /dev/kvm: permission denied: add this user to the group owning /dev/kvm (usually kvm) or run as root", ErrUnavailable)
	case err != nil:
		return nil, fmt.Errorf("%w: opening /dev/kvm: %w", ErrUnavailable, err)
	}
	s := &System{fd: fd}
	v, err := ioctl(fd, kvmGetAPIVersion, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%w: KVM_GET_API_VERSION: %w", ErrUnavailable, err)
	}
	if v != APIVersion {
		s.Close()
		return nil, fmt.Errorf("%w: /dev/kvm speaks API version %d, want %d", ErrUnavailable, v, APIVersion)
	}
	if n, _ := s.CheckExtension(CapUserMemory); n <= 0 {
		s.Close()
		return nil, fmt.Errorf("%w: KVM lacks KVM_CAP_USER_MEMORY", ErrUnavailable)
	}
	size, err := ioctl(fd, kvmGetVCPUMmapSize, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%w: KVM_GET_VCPU_MMAP_SIZE: %w", ErrUnavailable, err)
	}
	s.mmapSize = int(size)
	return s, nil
}

// Close closes /dev/kvm. VMs created from s stay usable.
func (s *System) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// CheckExtension returns KVM_CHECK_EXTENSION's answer for capability c
// (0: absent; often 1 or a limit when present).
func (s *System) CheckExtension(c int) (int, error) { return checkExtension(s.fd, c) }

func checkExtension(fd, c int) (int, error) {
	r, err := ioctl(fd, kvmCheckExtension, uintptr(c))
	if err != nil {
		return 0, fmt.Errorf("KVM_CHECK_EXTENSION(%d): %w", c, err)
	}
	return int(r), nil
}

// VM is one KVM virtual machine.
type VM struct {
	fd       int
	mmapSize int
}

// CreateVM creates a VM with the host's default machine type.
func (s *System) CreateVM() (*VM, error) {
	fd, err := ioctl(s.fd, kvmCreateVM, 0)
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	unix.CloseOnExec(int(fd))
	return &VM{fd: int(fd), mmapSize: s.mmapSize}, nil
}

// Close destroys the VM once all its vCPUs are closed too.
func (vm *VM) Close() error {
	if vm.fd < 0 {
		return nil
	}
	err := unix.Close(vm.fd)
	vm.fd = -1
	return err
}

// CheckExtension asks the VM (rather than the system) about capability c;
// some answers, such as arm64's IPA size, are per VM.
func (vm *VM) CheckExtension(c int) (int, error) { return checkExtension(vm.fd, c) }

type userspaceMemoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	MemorySize    uint64
	UserspaceAddr uint64
}

// SetMemory maps host memory at guest-physical gpa as slot. host must
// stay mapped for the life of the VM.
func (vm *VM) SetMemory(slot uint32, gpa uint64, host []byte) error {
	if len(host) == 0 {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION slot %d: empty region", slot)
	}
	r := userspaceMemoryRegion{
		Slot:          slot,
		GuestPhysAddr: gpa,
		MemorySize:    uint64(len(host)),
		UserspaceAddr: uint64(uintptr(unsafe.Pointer(&host[0]))),
	}
	if _, err := ioctlPtr(vm.fd, kvmSetUserMemoryRegion, unsafe.Pointer(&r)); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION slot %d (%d MiB at gpa %#x): %w", slot, len(host)>>20, gpa, err)
	}
	return nil
}

// CreateIRQChip creates the in-kernel interrupt controller (on x86_64: a
// PIC, an IOAPIC and a local APIC per vCPU). It must precede CreateVCPU.
func (vm *VM) CreateIRQChip() error {
	if _, err := ioctl(vm.fd, kvmCreateIRQChip, 0); err != nil {
		return fmt.Errorf("KVM_CREATE_IRQCHIP: %w", err)
	}
	return nil
}

// enableCap is struct kvm_enable_cap.
type enableCap struct {
	Cap   uint32
	Flags uint32
	Args  [4]uint64
	Pad   [64]byte
}

// EnableCap enables capability c on the VM (KVM_ENABLE_CAP) with no
// arguments.
func (vm *VM) EnableCap(c uint32) error {
	e := enableCap{Cap: c}
	if _, err := ioctlPtr(vm.fd, kvmEnableCap, unsafe.Pointer(&e)); err != nil {
		return fmt.Errorf("KVM_ENABLE_CAP(%d): %w", c, err)
	}
	return nil
}

// VCPU is one virtual CPU and its shared kvm_run page.
type VCPU struct {
	fd  int
	run []byte

	// mu guards tid, and run against Close, for Kick, the one method
	// called from other goroutines.
	mu  sync.Mutex
	tid int
}

// CreateVCPU creates vCPU number id and maps its kvm_run page.
func (vm *VM) CreateVCPU(id int) (*VCPU, error) {
	fd, err := ioctl(vm.fd, kvmCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU %d: %w", id, err)
	}
	unix.CloseOnExec(int(fd))
	run, err := unix.Mmap(int(fd), 0, vm.mmapSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("mapping kvm_run of vCPU %d: %w", id, err)
	}
	return &VCPU{fd: int(fd), run: run}, nil
}

// Close unmaps kvm_run and closes the vCPU. It holds the lock Kick
// takes, so a Kick from another goroutine either finishes before the page
// goes or finds it gone; the caller must still make sure no Run or exit
// accessor is in progress (monitor.VM does: its Close waits for Run).
func (c *VCPU) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err1 := unix.Munmap(c.run)
	err2 := unix.Close(c.fd)
	c.fd, c.run, c.tid = -1, nil, 0
	return errors.Join(err1, err2)
}

// BindThread records the calling OS thread as the one that runs c, so
// Kick can interrupt it. The caller must hold runtime.LockOSThread.
// Call it with bind false when the thread stops running c.
func (c *VCPU) BindThread(bind bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tid = 0
	if bind {
		c.tid = unix.Gettid()
	}
}

// Kick makes the current or next Run return ErrInterrupted promptly, even
// when the guest never exits on its own: it sets kvm_run.immediate_exit
// (which covers a thread about to enter KVM_RUN) and signals the bound
// thread (which covers one inside it). SIGURG is the signal because Go's
// runtime already uses it for preemption and ignores spurious ones.
// Safe to call from any goroutine.
func (c *VCPU) Kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run == nil {
		return
	}
	c.run[offImmediateExit] = 1
	if c.tid != 0 {
		_ = unix.Tgkill(unix.Getpid(), c.tid, unix.SIGURG)
	}
}

// Run enters the guest until the next exit. It returns nil with an exit
// to decode (ExitReason and friends), ErrInterrupted, ErrFault, or another
// error.
func (c *VCPU) Run() error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), kvmRun, 0)
	switch errno {
	case 0:
		return nil
	case unix.EINTR, unix.EAGAIN:
		return ErrInterrupted
	case unix.EFAULT:
		return ErrFault
	}
	return fmt.Errorf("KVM_RUN: %w", errno)
}

// Exit reasons (KVM_EXIT_*).
const (
	ExitUnknown       = 0
	ExitException     = 1
	ExitIO            = 2
	ExitHypercall     = 3
	ExitDebug         = 4
	ExitHLT           = 5
	ExitMMIO          = 6
	ExitIRQWindowOpen = 7
	ExitShutdown      = 8
	ExitFailEntry     = 9
	ExitIntr          = 10
	ExitInternalError = 17
	ExitSystemEvent   = 24
)

var exitNames = map[uint32]string{
	ExitUnknown: "UNKNOWN", ExitException: "EXCEPTION", ExitIO: "IO", ExitHypercall: "HYPERCALL",
	ExitDebug: "DEBUG", ExitHLT: "HLT", ExitMMIO: "MMIO", ExitIRQWindowOpen: "IRQ_WINDOW_OPEN",
	ExitShutdown: "SHUTDOWN", ExitFailEntry: "FAIL_ENTRY", ExitIntr: "INTR",
	ExitInternalError: "INTERNAL_ERROR", ExitSystemEvent: "SYSTEM_EVENT",
}

// ExitName returns the KVM_EXIT_* name of reason r, for messages.
func ExitName(r uint32) string {
	if n, ok := exitNames[r]; ok {
		return n
	}
	return fmt.Sprintf("%#x", r)
}

// Offsets into struct kvm_run (identical on x86_64 and arm64).
const (
	offImmediateExit = 1
	offExitReason    = 8
	offExitUnion     = 32
)

var le = binary.LittleEndian

func (c *VCPU) u8(off int) uint8   { return c.run[off] }
func (c *VCPU) u16(off int) uint16 { return le.Uint16(c.run[off:]) }
func (c *VCPU) u32(off int) uint32 { return le.Uint32(c.run[off:]) }
func (c *VCPU) u64(off int) uint64 { return le.Uint64(c.run[off:]) }

// ExitReason is kvm_run.exit_reason after a successful Run.
func (c *VCPU) ExitReason() uint32 { return c.u32(offExitReason) }

// IOExit is kvm_run.io.
type IOExit struct {
	Out   bool
	Size  uint8 // bytes per access
	Port  uint16
	Count uint32
	// Data is the data area inside kvm_run: Size*Count bytes written by an
	// OUT, to be filled for an IN.
	Data []byte
}

// IO decodes a KVM_EXIT_IO. Data is bounded by the kvm_run page, whatever
// the guest did.
func (c *VCPU) IO() IOExit {
	e := IOExit{
		Out:   c.u8(offExitUnion) == 1,
		Size:  c.u8(offExitUnion + 1),
		Port:  c.u16(offExitUnion + 2),
		Count: c.u32(offExitUnion + 4),
	}
	off := c.u64(offExitUnion + 8)
	n := uint64(e.Size) * uint64(e.Count)
	if off <= uint64(len(c.run)) && n <= uint64(len(c.run))-off {
		e.Data = c.run[off : off+n]
	}
	return e
}

// MMIOExit is kvm_run.mmio.
type MMIOExit struct {
	Addr    uint64
	Data    []byte // Len bytes inside kvm_run: written data, or where to put read data
	Len     uint32
	IsWrite bool
}

// MMIO decodes a KVM_EXIT_MMIO.
func (c *VCPU) MMIO() MMIOExit {
	e := MMIOExit{
		Addr:    c.u64(offExitUnion),
		Len:     c.u32(offExitUnion + 16),
		IsWrite: c.u8(offExitUnion+20) != 0,
	}
	n := min(e.Len, 8)
	e.Data = c.run[offExitUnion+8 : offExitUnion+8+int(n)]
	return e
}

// FailEntryReason is kvm_run.fail_entry.hardware_entry_failure_reason.
func (c *VCPU) FailEntryReason() uint64 { return c.u64(offExitUnion) }

// InternalError returns kvm_run.internal: the suberror and its data words.
func (c *VCPU) InternalError() (suberror uint32, data []uint64) {
	suberror = c.u32(offExitUnion)
	n := min(c.u32(offExitUnion+4), 16)
	for i := range n {
		data = append(data, c.u64(offExitUnion+8+8*int(i)))
	}
	return suberror, data
}

// System event types (KVM_SYSTEM_EVENT_*).
const (
	SystemEventShutdown = 1
	SystemEventReset    = 2
	SystemEventCrash    = 3
)

// SystemEvent returns kvm_run.system_event: its type and data words.
func (c *VCPU) SystemEvent() (typ uint32, data []uint64) {
	typ = c.u32(offExitUnion)
	n := min(c.u32(offExitUnion+4), 16)
	for i := range n {
		data = append(data, c.u64(offExitUnion+8+8*int(i)))
	}
	return typ, data
}
