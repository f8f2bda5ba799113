package withbindings

import (
	"errors"
	"testing"

	"github.com/unimon/unimon/bindings"
)

// Inside a unikernel the bindings answer (no such device) rather than
// saying they are not in one.
func TestInsideUnikernel(t *testing.T) {
	if _, _, err := bindings.BlockInfo("nosuch"); errors.Is(err, bindings.ErrNotUnikernel) {
		t.Fatalf("BlockInfo: %v: the test binary is not running as a unikernel", err)
	}
	if HasDisk("nosuch") {
		t.Fatal("a disk that the manifest does not declare")
	}
}
