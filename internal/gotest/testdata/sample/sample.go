// Package sample is the package internal/gotest's tests run `unimon test`
// on: its tests read testdata/, use t.TempDir, and one fails on purpose.
package sample

// Double doubles n.
func Double(n int) int { return 2 * n }
