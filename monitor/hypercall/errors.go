package hypercall

import "errors"

// ErrInterrupted is the cause (inside an *Error for POLL) when Interrupt
// ended a POLL. It is not a guest error: the host asked the guest to stop.
var ErrInterrupted = errors.New("interrupted")

// ErrClosed is the cause when a POLL or AddPollable reaches a closed Core.
var ErrClosed = errors.New("hypercall core is closed")
