// Command linuxprog is the ordinary Linux container of the OCI tests: a
// static binary that proves it ran as a Linux process (it reads
// /proc/self/status, which no unikernel has) and exits 3.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		fmt.Println("linuxprog: no /proc:", err)
		os.Exit(1)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "NSpid:") {
			fmt.Printf("linuxprog: a Linux process, %s, args %q\n", s.Text(), os.Args[1:])
		}
	}
	os.Exit(3)
}
