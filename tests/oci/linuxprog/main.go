// Command linuxprog is the ordinary Linux container of the OCI tests: a
// static binary that proves it ran as a Linux process (it reads
// /proc/self/status, which no unikernel has) and exits 3; with the
// argument "pause" it waits for a signal instead, like a pod's pause
// container.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "pause" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		fmt.Println("linuxprog: paused")
		<-sig
		return
	}
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
