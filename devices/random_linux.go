package devices

import "golang.org/x/sys/unix"

// fillRandom fills b from getrandom(2) (see RandomMAC).
func fillRandom(b []byte) { _, _ = unix.Getrandom(b, 0) }
