//go:build !amd64 && !arm64

package sandbox

import "fmt"

func installSIGSYS() error {
	return fmt.Errorf("%w: no SIGSYS handler for this architecture", ErrUnsupported)
}
