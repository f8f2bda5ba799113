//go:build linux && (amd64 || arm64)

// Command bootcount is a Go unikernel with a Solo5 block device: it
// counts its boots in the first 8 bytes of the device "storage".
//
//	unimon build --block storage -o bootcount.hvt ./examples/bootcount
//	truncate -s 1M disk.img
//	unimon --block:storage=disk.img bootcount.hvt   # boot 1
//	unimon --block:storage=disk.img bootcount.hvt   # boot 2
package main

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/unimon/unimon/bindings"
)

func main() {
	disk, err := bindings.OpenBlock("storage")
	if err != nil {
		fmt.Println("bootcount:", err)
		os.Exit(1)
	}
	defer disk.Close()
	st, err := disk.Stat()
	if err != nil {
		fmt.Println("bootcount:", err)
		os.Exit(1)
	}
	// An ordinary os.File: ReadAt and WriteAt at any offset and length.
	var b [8]byte
	if _, err := disk.ReadAt(b[:], 0); err != nil {
		fmt.Println("bootcount: read:", err)
		os.Exit(1)
	}
	n := binary.LittleEndian.Uint64(b[:]) + 1
	binary.LittleEndian.PutUint64(b[:], n)
	if _, err := disk.WriteAt(b[:], 0); err != nil {
		fmt.Println("bootcount: write:", err)
		os.Exit(1)
	}
	fmt.Printf("boot %d (device %q: %d bytes)\n", n, "storage", st.Size())
}
