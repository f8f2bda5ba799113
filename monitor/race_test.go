//go:build race

package monitor_test

// raceEnabled: the race detector's shadow memory grows with every
// allocation, so resident-set checks mean nothing under it.
const raceEnabled = true
