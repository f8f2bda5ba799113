// Package withbindings depends on the bindings itself, so `unimon test`
// links the module's bindings rather than the standard-library copy.
package withbindings

import "github.com/unimon/unimon/bindings"

// HasDisk reports whether the unikernel has a block device called name.
func HasDisk(name string) bool {
	_, _, err := bindings.BlockInfo(name)
	return err == nil
}
