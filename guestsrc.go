// Package unimon holds the source of the guest side, for builds that must
// bring it along: `unimon test` compiles the bindings into test binaries
// of packages whose module does not require this one (the standard
// library's, say). The CLI is cmd/unimon; the library is monitor.
package unimon

import "embed"

// GuestSources are the bindings and guestabi packages' files (their
// tests included; callers leave out *_test.go).
//
//go:embed bindings/*.go bindings/*.s bindings/*.h guestabi/*.go
var GuestSources embed.FS
