//go:build sandbox_measure

package sandbox

// defaultAllowForMeasurement: this build is for measuring the allowlist
// (scripts/sandbox-measure.sh) and must never be shipped.
const defaultAllowForMeasurement = true
