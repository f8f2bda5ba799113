// Package arm64 holds unimon's end-to-end tests on arm64 KVM: the
// micro-guests of internal/microguest in their aarch64 form, run through
// the public monitor API. The tests build only for GOARCH=arm64; on the
// x86_64 machines the ARM64 lane (internal/arm64lane) runs them inside
// qemu-system-aarch64 with nested KVM.
package arm64
