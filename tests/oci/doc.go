// Package oci holds the end-to-end tests of the OCI runtime under real
// engines: a private containerd (ctr) and podman, each inside a network
// namespace the test creates, running packed unikernels, a Go unikernel
// on a CNI bridge network, and an ordinary Linux container that
// unimon-runtime hands to runc.
package oci
