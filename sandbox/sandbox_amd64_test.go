package sandbox

// deniedNumbers are the amd64 numbers of the calls TestLockDown expects
// denied, written out rather than taken from the table the message uses.
var deniedNumbers = map[string]int{
	"openat": 257, "socket": 41, "execve": 59, "mmap": 9, "mprotect": 10, "clone": 56, "ioctl": 16, "ptrace": 101,
}
