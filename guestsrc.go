// Package unimon holds the source of the guest side, for builds that must
// bring it along: `unimon test` compiles the bindings into test binaries
// of packages whose module does not require this one (the standard
// library's, say). The CLI is cmd/unimon; the library is monitor.
package unimon

import "embed"

// GuestSources are the files of the bindings, of the package they share
// with the network stack (bindings/internal/socktab) and of guestabi
// (their tests included; callers leave out *_test.go).
//
//go:embed bindings/*.go bindings/*.s bindings/*.h bindings/internal/socktab/*.go guestabi/*.go
var GuestSources embed.FS
