//go:build linux && unimon_net

package bindings

// unimon build sets the unimon_net tag when the program imports net:
// the network stack then serves the socket system calls (socket.go).
import _ "github.com/unimon/unimon/bindings/netstack"
