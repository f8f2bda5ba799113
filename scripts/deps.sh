#!/usr/bin/env bash
# Installs what `make test` needs beyond Go and gcc (iproute2; gdb for
# tests/gdb), with apt-get, only when it is missing.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v gdb >/dev/null || need+=(gdb)
# gdb-multiarch: monitor/coredump reads the arm64 core layout with it.
command -v gdb-multiarch >/dev/null || need+=(gdb-multiarch)
# objdump: the independent SYSCALL count of internal/gobuild's TestAllStd.
command -v objdump >/dev/null || need+=(binutils)
# The networking tests: curl as a real HTTP client, dnsmasq as the DHCP
# and DNS server, both in the tests' namespaces.
command -v curl >/dev/null || need+=(curl)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
# iptables: the DHCP renewal tests drop some requests in their namespace.
command -v iptables >/dev/null || need+=(iptables)
# The OCI runtime's tests (ocirt, tests/oci): engines, runc for the
# containers that are not unikernels, the CNI bridge plugin, ping.
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
command -v podman >/dev/null || need+=(podman)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v ping >/dev/null || need+=(iputils-ping)
# tests/sandbox: losetup and blockdev break a disk under a running guest;
# strace measures the seccomp allowlist (go test ./tests/sandbox -measure).
command -v losetup >/dev/null || need+=(mount)
command -v blockdev >/dev/null || need+=(util-linux)
command -v strace >/dev/null || need+=(strace)
# tcpdump reads the --net-pcap captures (devices' TestCaptureReadByTcpdump).
command -v tcpdump >/dev/null || need+=(tcpdump)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
