package laneproto

// GoGuestsDir is where the initramfs holds the Go unikernels of
// tests/goguests, built for arm64 on the host (goguests.Images): the VM
// has no Go toolchain to build them.
const GoGuestsDir = FilesDir + "/goguests"

// GoGuestsEnv names the environment variable through which /init tells
// the test binaries where GoGuestsDir is.
const GoGuestsEnv = "UNIMON_GOGUESTS"
