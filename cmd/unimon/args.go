package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/clitext"
)

// usageError is a command-line mistake: printed as one line plus a hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef formats a usageError, one line whatever was typed
// (clitext.OneLine).
func usagef(format string, args ...any) error {
	return &usageError{clitext.OneLine(format, args...)}
}

// runOptions is a parsed `unimon [options] [--] KERNEL [ARGS...]`.
type runOptions struct {
	help, version bool

	memMiB uint64 // 0: default
	// memHuge backs guest memory with transparent huge pages.
	memHuge bool

	debug debugOptions // --dumpcore, --gdb, --gdb-port

	kernel string
	args   []string

	// Per-device options by manifest name, as given.
	block       map[string]string // NAME -> PATH
	sectorSize  map[string]uint16 // NAME -> bytes
	net         map[string]string // NAME -> IFACE
	netMAC      map[string]string // NAME -> MAC
	netPcap     map[string]string // NAME -> FILE (pcap.go)
	blockAny    string            // --block=PATH: the only block device
	netAny      string            // --net=IFACE: the only net device
	blockAnySet bool
	netAnySet   bool
}

// parseRunArgs parses upstream solo5-hvt syntax plus unimon's shorthands.
// Options must precede KERNEL; "--" ends them.
func parseRunArgs(args []string) (*runOptions, error) {
	o := &runOptions{
		block: map[string]string{}, sectorSize: map[string]uint16{},
		net: map[string]string{}, netMAC: map[string]string{}, netPcap: map[string]string{},
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		if err := o.parseOption(a, next); err != nil {
			return nil, err
		}
		if o.help || o.version {
			return o, nil
		}
	}
	// An empty KERNEL is a missing one (found by FuzzParseRunArgs).
	if i >= len(args) || args[i] == "" {
		return nil, usagef("missing KERNEL argument")
	}
	o.kernel = args[i]
	o.args = args[i+1:]
	return o, nil
}

// parseOption parses one option a; next is the argument after it, only
// to explain a value given as a separate argument.
func (o *runOptions) parseOption(a, next string) error {
	name, value, hasValue := strings.Cut(a, "=")
	key, dev, hasDev := strings.Cut(name, ":")
	if hasDev && dev == "" {
		return usagef("%s: missing device NAME after ':'", a)
	}
	needValue := func() error {
		// solo5-hvt takes only --mem=64; accepting --mem 64 too would
		// make command lines that work on one tender and not the other,
		// and make `--net:a KERNEL` ambiguous.
		_, numeric := strconv.ParseUint(next, 10, 64)
		switch {
		case !hasValue && (key == "--mem" || key == "--gdb-port") && numeric == nil:
			return usagef("%s %s: options take their value after '=', as in solo5-hvt: write %s=%s", a, next, a, next)
		case !hasValue:
			return usagef("%s: missing value after '=' (write %s=VALUE, as in solo5-hvt)", a, a)
		case value == "":
			return usagef("%s: missing value after '='", a)
		}
		return nil
	}
	checkDev := func() error {
		if !guestabi.ValidDeviceName(dev) {
			return usagef("%s: device name %q must be 1 to 67 characters from [A-Za-z0-9]", a, dev)
		}
		return nil
	}
	switch {
	case a == "--help" || a == "-h":
		o.help = true
		return nil
	case a == "--version":
		o.version = true
		return nil
	case a == "--mem-hugepages":
		o.memHuge = true
		return nil
	case key == "--mem" && !hasDev:
		if err := needValue(); err != nil {
			return err
		}
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || n == 0 {
			return usagef("malformed argument to --mem: %q (want a size in MiB, e.g. --mem=512)", value)
		}
		o.memMiB = n
		return nil
	case (key == "--dumpcore" || key == "--gdb-port") && !hasDev:
		if err := needValue(); err != nil {
			return err
		}
		return o.debug.parse(key, value, hasValue)
	case key == "--gdb" && !hasDev:
		return o.debug.parse(key, value, hasValue)
	case key == "--block" && !hasDev:
		if err := needValue(); err != nil {
			return err
		}
		o.blockAny, o.blockAnySet = value, true
		return nil
	case key == "--net" && !hasDev:
		if err := needValue(); err != nil {
			return err
		}
		o.netAny, o.netAnySet = value, true
		return nil
	case key == "--block" || key == "--net" || key == "--net-mac" || key == "--net-pcap" || key == "--block-sector-size":
		if !hasDev {
			return usagef("%s: missing ':NAME'", a)
		}
		if err := checkDev(); err != nil {
			return err
		}
		if err := needValue(); err != nil {
			return err
		}
	default:
		return usagef("unknown option %s", name)
	}
	var dup bool
	switch key {
	case "--block":
		_, dup = o.block[dev]
		o.block[dev] = value
	case "--net":
		_, dup = o.net[dev]
		o.net[dev] = value
	case "--net-mac":
		_, dup = o.netMAC[dev]
		o.netMAC[dev] = value
	case "--net-pcap":
		_, dup = o.netPcap[dev]
		o.netPcap[dev] = value
	case "--block-sector-size":
		n, err := strconv.ParseUint(value, 10, 16)
		if err != nil || n < 512 || n&(n-1) != 0 {
			return usagef("%s: sector size must be a power of two from 512 to 32768", a)
		}
		_, dup = o.sectorSize[dev]
		o.sectorSize[dev] = uint16(n)
	}
	if dup {
		return usagef("%s: device %q given twice", key, dev)
	}
	return nil
}

// resolve checks the device options against the unikernel's manifest and
// expands the --block=/--net= shorthands into o.block and o.net.
func (o *runOptions) resolve(m *guestabi.Manifest) error {
	only := func(flag, value string, t guestabi.DeviceType, into map[string]string) error {
		hs := m.Devices(t)
		switch len(hs) {
		case 0:
			return usagef("%s=%s: the unikernel declares no %s device", flag, value, t)
		case 1:
		default:
			var names []string
			for _, h := range hs {
				names = append(names, m.Entries[h].Name)
			}
			return usagef("%s=%s: the unikernel declares %d %s devices (%s): name one with %s:NAME=%s",
				flag, value, len(hs), t, strings.Join(names, ", "), flag, value)
		}
		name := m.Entries[hs[0]].Name
		if _, dup := into[name]; dup {
			return usagef("%s=%s: device %q is already attached with %s:%s", flag, value, name, flag, name)
		}
		into[name] = value
		return nil
	}
	if o.blockAnySet {
		if err := only("--block", o.blockAny, guestabi.DeviceBlockBasic, o.block); err != nil {
			return err
		}
	}
	if o.netAnySet {
		if err := only("--net", o.netAny, guestabi.DeviceNetBasic, o.net); err != nil {
			return err
		}
	}
	// A tap descriptor (@NN) can back one device only.
	fds := map[int]string{}
	for _, name := range keys(o.net) {
		fd, isFD, err := tapFD("--net:"+name, o.net[name])
		if err != nil {
			return err
		}
		if other, dup := fds[fd]; isFD && dup {
			return usagef("--net:%s=%s: descriptor %d is already given to --net:%s", name, o.net[name], fd, other)
		}
		if isFD {
			fds[fd] = name
		}
	}
	var undeclared []string
	check := func(flag string, names []string, t guestabi.DeviceType) error {
		for _, n := range names {
			h := m.Lookup(n)
			if h < 0 {
				undeclared = append(undeclared, flag+":"+n)
				continue
			}
			if m.Entries[h].Type != t {
				return usagef("%s:%s: device %q is %s, not %s", flag, n, n, m.Entries[h].Type, t)
			}
		}
		return nil
	}
	// Devices declared but not attached are the monitor's to find (a
	// *monitor.DeviceError); these checks cover options that never reach
	// monitor.Config, and refuse a bad name before any file is opened.
	for _, err := range []error{
		check("--block", keys(o.block), guestabi.DeviceBlockBasic),
		check("--block-sector-size", keys(o.sectorSize), guestabi.DeviceBlockBasic),
		check("--net", keys(o.net), guestabi.DeviceNetBasic),
		check("--net-mac", keys(o.netMAC), guestabi.DeviceNetBasic),
		check("--net-pcap", keys(o.netPcap), guestabi.DeviceNetBasic),
	} {
		if err != nil {
			return err
		}
	}
	switch len(undeclared) {
	case 0:
		return nil
	case 1:
		return usagef("%s: resource not declared in manifest (the unikernel declares %s)", undeclared[0], declaredList(m))
	}
	return usagef("%s: %d resources not declared in manifest (the unikernel declares %s)", strings.Join(undeclared, ", "), len(undeclared), declaredList(m))
}

// tapFD returns NN for an --net value of upstream's form @NN (a tap
// descriptor the caller opened), and false for an interface name.
func tapFD(flag, value string) (fd int, isFD bool, err error) {
	digits, isFD := strings.CutPrefix(value, "@")
	if !isFD {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(digits, 10, 31)
	if err != nil {
		return 0, true, usagef("%s=%s: want @ followed by an open tap file descriptor number, e.g. @3", flag, value)
	}
	return int(n), true, nil
}

func declaredList(m *guestabi.Manifest) string {
	if len(m.Entries) <= 1 {
		return "no devices"
	}
	var s []string
	for _, e := range m.Entries[1:] {
		s = append(s, fmt.Sprintf("%s %s", e.Type, e.Name))
	}
	return strings.Join(s, ", ")
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
