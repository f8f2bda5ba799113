package sandbox

// sigsysCopy is the SIGSYS handler's byte copy (sigsys_arm64.s), called
// from assembly only, with its own register convention.
func sigsysCopy()
