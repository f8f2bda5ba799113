// Package tcplisten is a TCP listener for the CLI's --gdb: a net.Listener
// over a socket made with x/sys/unix, whose accepted connections are
// os.Files (Go's netpoller still does the waiting).
//
// net.ListenTCP would do, but it links the whole of net's socket code
// (address-family probes, the interface table over netlink, the dialer)
// into every run of unimon for this one option: 82 KB of binary (38 KB
// of code, the rest its tables), which every start of the CLI maps and
// its peak RSS pays (issue 12).
// Listen keeps what net.ListenTCP("tcp", addr) does that a user can see:
// the socket options, a dual-stack socket for a wildcard address, the
// listener's and connections' addresses, and errors that read and match
// (errors.Is net.ErrClosed, os.ErrDeadlineExceeded) as net's.
//
// Elsewhere than on Linux, Listen is net.ListenTCP.
package tcplisten
