//go:build !sandbox_measure

package sandbox

// defaultAllowForMeasurement is true only in the sandbox_measure build
// (see scripts/sandbox-measure.sh), where the filter allows every call so
// that strace can list what a run makes after LockDown.
const defaultAllowForMeasurement = false
