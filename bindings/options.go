//go:build linux

package bindings

import "unsafe"

// The bindings' own options: words --unimon:NAME or --unimon:NAME=VALUE at
// the start of the unikernel's command line (after Solo5's --solo5:
// ones, before the program's arguments). They are parsed before the Go
// runtime starts; an option not in the table stops the unikernel with a
// message naming it (a misspelt option is not silently given to the
// program as an argument).
//
// To add one: a line in options (it is static data: the kernel runs
// before the runtime's init) and its function, which gets the value
// (empty for a name without '=') and reports false when the value is
// invalid.

// option is one --unimon: option.
type option struct {
	// name follows --unimon:; it ends in '=' when the option takes a
	// value (--unimon:env=KEY=VALUE has name "env=").
	name string
	// usage is shown in the message about an unknown option; for an
	// option with a value it starts with the value's name and a colon
	// ("KEY=VALUE: ...").
	usage string
	set   func(val []byte) bool
}

var options = [...]option{
	{"stats", "print trap, fault and signal counts at exit", optStats},
	{"notimer", "run cooperatively even when the monitor offers a timer", optNoTimer},
	{"env=", "KEY=VALUE: set an environment variable of the program (repeatable)", optEnv},
	{"net=", "NAME: the net device the network options after it configure (none: the stack takes no device)", optNet},
	{"ipv4=", "ADDR/PREFIX: the net device's IPv4 address (without it: DHCPv4)", optIPv4},
	{"ipv4-gateway=", "ADDR: the IPv4 default router", optIPv4Gateway},
	{"ipv6=", "ADDR/PREFIX: a static IPv6 address of the net device", optIPv6},
	{"dns=", "ADDR: a DNS server (repeatable)", optDNS},
	{"hostname=", "NAME: the host name (uname, /etc/hostname)", optHostname},
}

func optStats(val []byte) bool   { showStats = true; return true }
func optNoTimer(val []byte) bool { noTimer = true; return true }

// optEnv adds KEY=VALUE to the program's environment; a later value of a
// key replaces an earlier one, as the runtime would see it last anyway.
func optEnv(val []byte) bool {
	eq := 0
	for eq < len(val) && val[eq] != '=' {
		eq++
	}
	if eq == 0 || eq == len(val) {
		return false
	}
	return addEnv(val)
}

const optionPrefix = "--unimon:"

// parseOption handles the word w (which starts with optionPrefix); it
// halts with a message if w is not a known option or its value is bad.
func parseOption(w []byte) {
	name := w[len(optionPrefix):]
	for i := range options {
		o := &options[i]
		n := len(o.name)
		valued := n > 0 && o.name[n-1] == '='
		switch {
		case !valued && string(name) == o.name:
			o.set(nil)
			return
		case valued && len(name) >= n && string(name[:n]) == o.name:
			if !o.set(name[n:]) {
				optionError("bad value in option ", w)
			}
			return
		}
	}
	optionError("unknown option ", w)
}

// optionError reports a bad option and the known ones, and halts with
// status 1 before the program starts.
func optionError(what string, w []byte) {
	n := 0
	add := func(s string) { n += copy(msg[n:], s) }
	add("unimon bindings: ")
	add(what)
	n += copy(msg[n:], w)
	add("\nknown options:\n")
	for i := range options {
		add("  ")
		add(optionPrefix)
		name := options[i].name
		add(name)
		if name[len(name)-1] != '=' {
			add(": ")
		}
		add(options[i].usage)
		add("\n")
	}
	putsPhys(uintptr(unsafe.Pointer(&msg)), uintptr(n))
	halt(1)
}
