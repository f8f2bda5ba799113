// Package arenas fixes glibc's malloc arena limit before a seccomp
// filter is installed, in cgo binaries (package sandbox holds Go
// assembly, which a package using cgo cannot).
package arenas
