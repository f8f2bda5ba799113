// Package unimon holds the source of the guest side, for builds that must
// bring it along: `unimon test` compiles the bindings into test binaries
// of packages whose module does not require this one (the standard
// library's, say). The CLI is cmd/unimon; the library is monitor.
package unimon

import "embed"

// GuestSources are the files of the bindings, of the network stack
// (bindings/netstack), of the package they share (bindings/internal/socktab)
// and of guestabi (their tests included; callers leave out *_test.go),
// with go.mod and go.sum, which name the versions of the stack's
// dependencies (gVisor...) the bindings were written against.
//
//go:embed go.mod go.sum bindings/*.go bindings/*.s bindings/*.h bindings/internal/socktab/*.go bindings/netstack/*.go guestabi/*.go
var GuestSources embed.FS
