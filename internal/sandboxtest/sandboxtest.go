// Package sandboxtest helps tests look at a locked-down process from
// outside, through /proc.
package sandboxtest

import (
	"fmt"
	"os"
	"strings"
)

// LockedThreads returns the /proc status of every thread of process pid
// once all of them show a seccomp filter (Seccomp: 2), else nil: a test
// polls it until the process has locked down, then checks the rest of
// each thread's status.
func LockedThreads(pid int) []string {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil
	}
	var out []string
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil || !strings.Contains(string(b), "Seccomp:\t2") {
			return nil
		}
		out = append(out, string(b))
	}
	return out
}
