#!/usr/bin/env bash
# Installs what `make test` needs beyond Go and gcc, with apt-get, only
# when it is missing.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
# tests/sandbox: losetup and blockdev break a disk under a running guest;
# strace measures the seccomp allowlist (go test ./tests/sandbox -measure).
command -v losetup >/dev/null || need+=(mount)
command -v blockdev >/dev/null || need+=(util-linux)
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
