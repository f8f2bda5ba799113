package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/internal/clitext"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/elfload"
)

// explain turns err into the one line unimon prints and a hint line
// ("" for none). m is the unikernel's manifest when known, for hints that
// depend on what it declares.
func explain(err error, m *guestabi.Manifest) (line, hint string) {
	var ue *usageError
	var me *monitor.MemoryError
	var fe *foreignArchError
	var missing *missingCompanionError
	switch devs := deviceErrors(err); {
	case len(devs) > 0:
		return explainDevices(devs, m)
	case errors.As(err, &ue):
		return err.Error(), "Try 'unimon --help' for the options."
	case errors.As(err, &me):
		return err.Error(), fmt.Sprintf("Give it more with --mem=%d.", me.Need>>20)
	case errors.As(err, &fe):
		return err.Error(), fe.hint()
	case errors.Is(err, elfload.ErrNoABINote):
		return err.Error(), clitext.NotSolo5Hint
	case errors.As(err, &missing):
		return err.Error(), missing.companion.hint
	}
	return err.Error(), ""
}

// deviceErrors returns the *monitor.DeviceErrors err is made of: one, or
// several joined.
func deviceErrors(err error) []*monitor.DeviceError {
	var de *monitor.DeviceError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var des []*monitor.DeviceError
		for _, e := range j.Unwrap() {
			if !errors.As(e, &de) {
				return nil
			}
			des = append(des, de)
		}
		return des
	}
	if errors.As(err, &de) {
		return []*monitor.DeviceError{de}
	}
	return nil
}

// explainDevices names every device in one line. The hint offers the
// shorthand --block=/--net= only when it would do: one device missing,
// and the only one of its type.
func explainDevices(devs []*monitor.DeviceError, m *guestabi.Manifest) (line, hint string) {
	flag := func(t guestabi.DeviceType) (string, string) {
		if t == guestabi.DeviceBlockBasic {
			return "--block", "PATH"
		}
		return "--net", "TAP"
	}
	if len(devs) == 1 {
		d := devs[0]
		if !errors.Is(d, monitor.ErrNotAttached) {
			return d.Error(), ""
		}
		f, v := flag(d.Type)
		hint = fmt.Sprintf("Attach it with %s:%s=%s", f, d.Name, v)
		if m != nil && len(m.Devices(d.Type)) == 1 {
			hint += fmt.Sprintf(" (or %s=%s)", f, v)
		}
		if d.Type == guestabi.DeviceNetBasic {
			hint = strings.Replace(hint, "Attach it with", "Attach it to a tap with", 1)
		}
		return d.Error(), hint + "."
	}
	var byType []string
	var flags []string
	notAttached := errors.Is(devs[0], monitor.ErrNotAttached)
	for _, t := range []guestabi.DeviceType{guestabi.DeviceBlockBasic, guestabi.DeviceNetBasic} {
		var names []string
		for _, d := range devs {
			if d.Type == t {
				names = append(names, fmt.Sprintf("%q", d.Name))
			}
		}
		if len(names) > 0 {
			byType = append(byType, t.String()+" "+strings.Join(names, ", "))
			f, v := flag(t)
			flags = append(flags, f+":NAME="+v)
		}
	}
	if !notAttached {
		line = fmt.Sprintf("%d devices are not declared by the unikernel: %s", len(devs), strings.Join(byType, "; "))
		if m != nil {
			line += fmt.Sprintf(" (it declares %s)", declaredList(m))
		}
		return line, ""
	}
	return fmt.Sprintf("the unikernel declares %d devices that are not attached: %s", len(devs), strings.Join(byType, "; ")),
		"Attach each with " + strings.Join(flags, " and ") + "."
}
