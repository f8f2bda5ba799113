//go:build !amd64 && !arm64

package sandbox

// runIoctls is empty where LockDown is not supported yet.
var runIoctls []uint64
