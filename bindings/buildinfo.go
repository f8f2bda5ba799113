package bindings

// buildInfo is filled in by `unimon build` (internal/gobuild.Patch): the
// magic changes from buildInfoMagic to buildInfoPatched, then the address
// and count of the table of patched SYSCALL addresses and the end of the
// loaded image, a version, and the address and length of the file tree
// (treefs.go; 0 without one). It is initialised to non-zero values so
// that the linker puts it in file-backed data the patcher can rewrite.
var buildInfo = [7]uint64{buildInfoMagic, 0, 0, 0, 1, 0, 0}

const (
	buildInfoMagic   = 0x756e696d6f6e3031
	buildInfoPatched = 0x756e696d6f6e5031
)
