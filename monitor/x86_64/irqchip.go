//go:build amd64

package x86_64

import "github.com/unimon/unimon/monitor/kvm"

// IRQChip kinds, as CreateIRQChip reports them.
const (
	IRQChipNone  = "none"
	IRQChipSplit = "split" // the local APIC alone (KVM_CAP_SPLIT_IRQCHIP)
	IRQChipFull  = "full"  // PIC, IOAPIC and local APIC (KVM_CREATE_IRQCHIP)
)

// CreateIRQChip gives vm the least interrupt controller with a local
// APIC the host offers, before any vCPU exists: the split irqchip (the
// local APIC alone: a unikernel's timer needs nothing else, and without
// a PIC and an IOAPIC the VM is ~2 ms cheaper to destroy on the hosts
// measured), else the full one. A host with neither gets IRQChipNone and
// no error: the guest runs without, as on upstream's tender.
//
// The monitor and the benchmark floor both use it, so both grant a guest
// the same machine.
func CreateIRQChip(vm *kvm.VM) (string, error) {
	if n, _ := vm.CheckExtension(kvm.CapSplitIRQChip); n > 0 {
		if vm.CreateSplitIRQChip() == nil {
			return IRQChipSplit, nil
		}
		// Offered but refused: the full irqchip may still work.
	}
	if n, _ := vm.CheckExtension(kvm.CapIRQChip); n > 0 {
		if err := vm.CreateIRQChip(); err != nil {
			return IRQChipNone, err
		}
		return IRQChipFull, nil
	}
	return IRQChipNone, nil
}
