//go:build !arm64

package arm64

import "errors"

// HostCounterFrequency returns CNTFRQ_EL0 on an arm64 host; elsewhere
// there is no such register.
func HostCounterFrequency() (uint64, error) {
	return 0, errors.New("CNTFRQ_EL0 exists only on arm64 hosts")
}
