package arm64

import (
	"errors"
	"fmt"
)

func cntfrq() uint64

// HostCounterFrequency returns CNTFRQ_EL0, the frequency of the generic
// timer's counter in Hz. The guest reads the same register and counts
// CNTVCT_EL0 at this rate, so it is the guest's cpu_cycle_freq (KVM on
// arm64 has no equivalent of KVM_GET_TSC_KHZ, and upstream reads the host
// register too). Linux lets EL0 read CNTFRQ_EL0 whenever it exposes the
// virtual counter to user space, which the vDSO needs.
func HostCounterFrequency() (uint64, error) {
	f := cntfrq()
	if f == 0 {
		return 0, errors.New("CNTFRQ_EL0 reads 0: the firmware did not program the counter frequency")
	}
	if f > 1<<40 {
		return 0, fmt.Errorf("CNTFRQ_EL0 reads an implausible %d Hz", f)
	}
	return f, nil
}
