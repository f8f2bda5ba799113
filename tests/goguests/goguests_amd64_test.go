//go:build linux

package goguests

import "time"

// idleLimit is the CPU time an idle guest may cost over d: a quarter (a
// busy-waiting guest costs all of it).
func idleLimit(d time.Duration) time.Duration { return d / 4 }
