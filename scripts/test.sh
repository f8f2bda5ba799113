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

echo "== the lean build (make's bin/unimon, tag unimon_nodebug): its stand-ins for the debug modules"
$GO test -tags unimon_nodebug -count=1 -run 'NoDebug' ./monitor/

echo "== race detector: monitor, hypercall, devices"
# Includes TestRaceRunCancelClose (400 Run/cancel/Close races on fresh
# VMs) and the blocked-console tests: the VM lifecycle's own proof.
CGO_ENABLED=1 $GO test -race -count=1 -timeout 10m ./monitor/ ./monitor/hypercall/ ./devices/

echo "== the standard library's tests inside Go unikernels"
scripts/fidelity.sh check

echo "== fuzzing every target briefly"
# Counts, not durations: a duration -fuzztime can fail spuriously with
# "context deadline exceeded" in Go 1.26 (go.dev/issue/75804).
FUZZTIME=${FUZZTIME:-50000x} scripts/fuzz.sh

echo "== arm64 lane: arm64 KVM tests under qemu-system-aarch64"
$GO run ./internal/arm64lane

if [ "${UNIMON_SKIP_ARM64:-}" != 1 ]; then
  echo "== the same Go program built for amd64 and arm64: the same output on both (arm64 through scripts/arm64-run)"
  dir=$(mktemp -d)
  $GO build -o "$dir/unimon" ./cmd/unimon
  $GO build -o "$dir/unimon-build" ./cmd/unimon-build # what unimon build runs
  "$dir/unimon" build --arch amd64 -o "$dir/hello-amd64.hvt" ./examples/hello
  "$dir/unimon" build --arch arm64 -o "$dir/hello-arm64.hvt" ./examples/hello
  want=$'Hello from a Go unikernel on unimon!\narg 1: a\narg 2: b'
  amd64=0 arm64=0
  out_amd64=$("$dir/unimon" --mem=64 "$dir/hello-amd64.hvt" a b) || amd64=$?
  out_arm64=$(scripts/arm64-run --mem=64 "$dir/hello-arm64.hvt" a b) || arm64=$?
  rm -rf "$dir"
  if [ "$amd64" -ne 0 ] || [ "$arm64" -ne 0 ] || [ "$out_amd64" != "$want" ] || [ "$out_arm64" != "$out_amd64" ]; then
    echo "FAIL: amd64 (status $amd64):"; printf '%s\n' "$out_amd64"
    echo "arm64 (status $arm64):"; printf '%s\n' "$out_arm64"; exit 1
  fi
fi
