//go:build !amd64 && !arm64

package sandbox

// native is nil where the allowlist has not been measured: LockDown
// returns ErrUnsupported.
var native *arch
