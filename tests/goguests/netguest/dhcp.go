package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// The modes of the DHCP tests: what a program sees as leases change.

func init() {
	modes["waitresolv"] = mode{1, func(a []string) error { return waitResolv(a[0]) }}
}

// waitResolv waits (a minute at most) until /etc/resolv.conf has want in
// it, and prints the file.
func waitResolv(want string) error {
	var b []byte
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile("/etc/resolv.conf"); err != nil {
			return err
		}
		if strings.Contains(string(b), want) {
			fmt.Printf("waitresolv: %q\n", b)
			return nil
		}
	}
	return fmt.Errorf("no %q in /etc/resolv.conf after a minute: %q", want, b)
}
