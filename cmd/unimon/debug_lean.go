//go:build unimon_nodebug

package main

import (
	"io"

	"github.com/unimon/unimon/monitor"
)

// debugModules: this build, the lean one (make's bin/unimon), leaves the
// debug modules out, as upstream's solo5-hvt leaves them to
// solo5-hvt-debug; run hands every run with a debug option to
// unimon-debug, the build that has them.
const debugModules = false

// gdbAddress takes --gdb-port's value as it is: unimon-debug checks it.
func gdbAddress(value string) (string, error) { return value, nil }

// apply is never reached: run hands debug options to unimon-debug.
func (d *debugOptions) apply(*monitor.Config, *signalExit, io.Writer) (func(), error) {
	if opt := d.requested(); opt != "" {
		return func() {}, usagef("%s needs unimon-debug", opt)
	}
	return func() {}, nil
}
