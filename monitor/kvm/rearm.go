package kvm

// Rearm undoes a Kick that has been seen (Run returned ErrInterrupted),
// so the vCPU can run again: a debugger's Ctrl-C stops the guest without
// ending it. Call it from the thread that runs c, between Runs.
func (c *VCPU) Rearm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run != nil {
		c.run[offImmediateExit] = 0
	}
}
