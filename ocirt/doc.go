// Package ocirt is unimon's OCI runtime: what `unimon-runtime create`,
// `start`, `state`, `kill` and `delete` do for a container whose
// process.args[0] is a Solo5 unikernel (IsUnikernel decides; the command
// line hands the others to runc).
//
// A container is a directory under Runtime.Root holding state.json and,
// until start, an exec FIFO. Create re-executes the runtime as the
// container's holder process (Holder), in the namespaces the bundle asks
// for; the holder reads the unikernel and the org.unimon.* settings
// (see package ociimage), reports ready on a pipe and blocks opening the
// FIFO. Start opens the FIFO, which releases the holder: it plugs the
// network the engine set up meanwhile (a tap redirected to and from
// eth0 with tc) and runs the guest through monitor.New and (*VM).Run.
// The holder's exit status is the container's. Status is derived, as in
// runc: the holder alive with the FIFO present is created, alive without
// it running, gone (or a zombie) stopped.
package ocirt
