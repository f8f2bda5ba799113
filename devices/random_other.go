//go:build !linux

package devices

import "crypto/rand"

// fillRandom fills b from crypto/rand: no VM runs outside Linux, so the
// monitor's start-up cost there does not matter (see RandomMAC).
func fillRandom(b []byte) { _, _ = rand.Read(b) }
