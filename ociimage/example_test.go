package ociimage_test

import (
	"bytes"
	"fmt"

	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/ociimage"
)

// Write packs a unikernel with its default arguments and memory; the tar
// loads with `ctr images import`, `podman load` or `docker load`.
func ExampleWrite() {
	var tarball bytes.Buffer
	err := ociimage.Write(&tarball, ociimage.Image{
		Kernel:      microguest.Hello(),
		Arch:        "amd64",
		Name:        "hello",
		Args:        []string{"from", "an", "image"},
		Annotations: map[string]string{ociimage.SettingMemory: "32"},
	})
	fmt.Println(err, tarball.Len() > 0)
	// Output: <nil> true
}
