// Package probe holds the ARM64 lane's own smoke test: raw /dev/kvm ioctls
// that show the lane really reaches arm64 KVM, independent of the monitor.
// Its tests build only for GOARCH=arm64.
package probe
