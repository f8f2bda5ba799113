#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it.
set -euo pipefail
GO=${GO:-go}
count=$(mktemp)
trap 'rm -f "$count"' EXIT
export UNIMON_KVM_COUNT_FILE=$count

echo "== unit and end-to-end tests"
$GO test -count=1 -timeout 20m ./...

kvm=$(wc -l <"$count")
if [ -e /dev/kvm ]; then
  echo "KVM tests run: $kvm"
  if [ "$kvm" -eq 0 ]; then echo "FAIL: /dev/kvm exists but no KVM test ran"; exit 1; fi
else
  echo "KVM tests run: 0 (this machine has no /dev/kvm: KVM tests skipped)"
fi

echo "== race detector: monitor, hypercall, devices"
# Includes TestRaceRunCancelClose (400 Run/cancel/Close races on fresh
# VMs) and the blocked-console tests: the VM lifecycle's own proof.
CGO_ENABLED=1 $GO test -race -count=1 -timeout 10m ./monitor/ ./monitor/hypercall/ ./devices/

echo "== fuzzing every target briefly"
# Counts, not durations: a duration -fuzztime can fail spuriously with
# "context deadline exceeded" in Go 1.26 (go.dev/issue/75804).
FUZZTIME=${FUZZTIME:-50000x} scripts/fuzz.sh

echo "== arm64 lane: arm64 KVM tests under qemu-system-aarch64"
$GO run ./internal/arm64lane
