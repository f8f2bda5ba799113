//go:build !cgo || !linux

package arenas

// Cgo says new threads come from glibc's pthread_create; here they come
// from the Go runtime's own clone.
const Cgo = false

// Cap has nothing to do without cgo: the Go runtime does not use
// malloc (see cgo.go).
func Cap() {}
