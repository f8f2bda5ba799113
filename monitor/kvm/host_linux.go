package kvm

import "golang.org/x/sys/unix"

// CheckHostOS accepts Linux, the only system with KVM.
func CheckHostOS() error { return nil }

// gettid names the calling OS thread for Kick.
func gettid() int { return unix.Gettid() }

// signalThread sends SIGURG to thread tid of this process, to knock it out
// of KVM_RUN. Go's runtime uses SIGURG for preemption and ignores
// spurious ones.
func signalThread(tid int) { _ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG) }
