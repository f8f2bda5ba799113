package main

// lockDown runs once the VM is set up, right before it runs. main sets
// it to lockDownProcess (lockdown_linux.go; elsewhere no VM runs);
// tests that call run in-process keep this no-op, because the lock-down
// is one-way and would lock the test binary.
var lockDown = func(*runOptions, openedDevices) error { return nil }
