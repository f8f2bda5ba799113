// Package oci holds the end-to-end tests of the OCI runtime under real
// engines: a private containerd (ctr) and podman, each inside a network
// namespace the test creates, running packed unikernels, Go unikernels
// on a CNI bridge network (one answering ping over raw frames, one
// serving net/http to curl and Go's client on the bridge's side), and
// an ordinary Linux container that unimon-runtime hands to runc.
package oci
