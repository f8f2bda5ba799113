//go:build unimon_nodebug

package monitor_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/unimon/unimon/monitor"
)

// The lean build refuses the debug options it leaves out, each by name,
// before it asks anything of KVM, and leaves gdb's connection to the
// caller.
func TestNoDebugRefusesDebugOptions(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tt := range []struct {
		name string
		cfg  monitor.Config
	}{
		{"DumpCore", monitor.Config{KernelImage: guests.Hello(), Memory: smallMem, DumpCore: t.TempDir()}},
		{"GDB", monitor.Config{KernelImage: guests.Hello(), Memory: smallMem, GDB: w}},
	} {
		_, err := monitor.New(tt.cfg)
		if !errors.Is(err, monitor.ErrConfig) || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), tt.name+": ") {
			t.Errorf("New with %s: %v, want ErrConfig and ErrUnsupported naming it", tt.name, err)
		}
	}
	if _, err := w.Write([]byte("+")); err != nil {
		t.Errorf("gdb's connection after New refused it: %v, want it open", err)
	}
}
