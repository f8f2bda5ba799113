package kvm

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// KVM device API (KVM_CREATE_DEVICE, KVM_SET_DEVICE_ATTR), as the
// in-kernel GICv3 uses it.

type createDevice struct {
	Type  uint32
	FD    uint32
	Flags uint32
}

type deviceAttr struct {
	Flags uint32
	Group uint32
	Attr  uint64
	Addr  uint64
}

var (
	kvmCreateDevice  = iowr(0xe0, unsafe.Sizeof(createDevice{}))
	kvmSetDeviceAttr = iow(0xe1, unsafe.Sizeof(deviceAttr{}))
)

// Constants of <linux/kvm.h> and arch/arm64/include/uapi/asm/kvm.h.
const (
	devTypeARMVGICv3     = 7
	vgicGroupAddr        = 0 // KVM_DEV_ARM_VGIC_GRP_ADDR
	vgicGroupCtrl        = 4 // KVM_DEV_ARM_VGIC_GRP_CTRL
	vgicV3AddrTypeDist   = 2 // KVM_VGIC_V3_ADDR_TYPE_DIST
	vgicV3AddrTypeRedist = 3 // KVM_VGIC_V3_ADDR_TYPE_REDIST
	vgicCtrlInit         = 0 // KVM_DEV_ARM_VGIC_CTRL_INIT
)

// ErrNoGICv3 is returned by CreateGICv3 when the host cannot give guests
// a GICv3 (a GICv2 host, or a KVM without the device).
var ErrNoGICv3 = errors.New("KVM cannot create an in-kernel GICv3 here")

// GICv3 is an in-kernel GICv3 interrupt controller of a VM. With it, KVM
// delivers the vCPU's generic timer interrupts (PPI 27 for the virtual
// timer) to the guest itself.
type GICv3 struct {
	fd int
}

// CreateGICv3 creates the VM's GICv3 with its distributor at dist (64
// KiB) and the redistributors at redist (128 KiB per vCPU), both
// guest-physical and 64 KiB aligned. Call Init once every vCPU exists.
func (vm *VM) CreateGICv3(dist, redist uint64) (*GICv3, error) {
	d := createDevice{Type: devTypeARMVGICv3}
	if _, err := ioctlPtr(vm.fd, kvmCreateDevice, unsafe.Pointer(&d)); err != nil {
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return nil, fmt.Errorf("%w: KVM_CREATE_DEVICE(VGIC_V3): %w", ErrNoGICv3, err)
		}
		return nil, fmt.Errorf("KVM_CREATE_DEVICE(VGIC_V3): %w", err)
	}
	g := &GICv3{fd: int(d.FD)}
	unix.CloseOnExec(g.fd)
	for _, a := range []struct {
		typ  uint64
		addr uint64
		name string
	}{{vgicV3AddrTypeDist, dist, "distributor"}, {vgicV3AddrTypeRedist, redist, "redistributor"}} {
		if err := g.setAttr(vgicGroupAddr, a.typ, a.addr); err != nil {
			g.Close()
			return nil, fmt.Errorf("placing the GICv3 %s at %#x: %w", a.name, a.addr, err)
		}
	}
	return g, nil
}

// setAttr sets attribute attr of group to value through a pointer, as
// KVM_SET_DEVICE_ATTR takes it.
func (g *GICv3) setAttr(group uint32, attr, value uint64) error {
	v := value
	a := deviceAttr{Group: group, Attr: attr, Addr: uint64(uintptr(unsafe.Pointer(&v)))}
	_, err := ioctlPtr(g.fd, kvmSetDeviceAttr, unsafe.Pointer(&a))
	escape(&v)
	if err != nil {
		return fmt.Errorf("KVM_SET_DEVICE_ATTR(group %d, attr %d): %w", group, attr, err)
	}
	return nil
}

// Init finishes the GIC (KVM_DEV_ARM_VGIC_CTRL_INIT): after every vCPU
// was created, before any runs.
func (g *GICv3) Init() error {
	a := deviceAttr{Group: vgicGroupCtrl, Attr: vgicCtrlInit}
	if _, err := ioctlPtr(g.fd, kvmSetDeviceAttr, unsafe.Pointer(&a)); err != nil {
		return fmt.Errorf("KVM_SET_DEVICE_ATTR(VGIC_CTRL_INIT): %w", err)
	}
	return nil
}

// Close closes the device fd; the GIC lives as long as its VM.
func (g *GICv3) Close() error { return unix.Close(g.fd) }
