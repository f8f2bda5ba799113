package sandbox

// native is the running architecture's arch.
var native = &arm64
