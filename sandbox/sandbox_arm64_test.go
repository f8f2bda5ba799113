package sandbox

// deniedNumbers are the arm64 numbers of the calls TestLockDown expects
// denied, written out rather than taken from the table the message uses.
// (This file also puts the package in the ARM64 lane, which runs every
// package with an *_arm64_test.go file.)
var deniedNumbers = map[string]int{
	"openat": 56, "socket": 198, "execve": 221, "mmap": 222, "mprotect": 226, "clone": 220, "ioctl": 29, "ptrace": 117,
}
