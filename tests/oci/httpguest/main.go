// Command httpguest is the Go unikernel of the OCI HTTP test: an
// ordinary net/http server, nothing unimon-specific but the blank import
// of bindings. Its address is not in the program: unimon-runtime passes
// the container's as --unimon:ipv4 options, which the bindings consume
// before main runs.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	_ "github.com/unimon/unimon/bindings"
)

func main() {
	ln, err := net.Listen("tcp", ":8080")
	if err != nil {
		fmt.Println("httpguest:", err)
		os.Exit(1)
	}
	addrs, _ := net.InterfaceAddrs()
	fmt.Printf("httpguest: listening on %s, addresses %v, args %q\n", ln.Addr(), addrs, os.Args[1:])
	// The page names the address the request came in on, so the test
	// sees it was the guest's own stack that answered.
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from a unikernel at %v\n", r.Context().Value(http.LocalAddrContextKey))
	})
	fmt.Println("httpguest:", http.Serve(ln, nil))
	os.Exit(1)
}
