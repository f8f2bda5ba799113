#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (a count such
# as 50000x, or a duration). With FUZZ_SAVE_CORPUS=1 the inputs a target
# found interesting are copied from Go's fuzz cache into the package's
# testdata/fuzz/<Target>/, where `go test` replays them on every run and
# where they are committed: the corpora live in the repository.
set -euo pipefail
FUZZTIME=${FUZZTIME:-50000x}
GO=${GO:-go}
cache=$($GO env GOCACHE)/fuzz
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    start=$(date +%s)
    $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1 || {
      cat "$log"; echo "fuzz: $target FAILED (the crasher is in $dir/testdata/fuzz/$target: fix it and commit it)"; exit 1; }
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    echo "fuzz: $pkg $target: $execs execs in $(( $(date +%s) - start ))s"
    if [ "${FUZZ_SAVE_CORPUS:-}" = 1 ] && [ -d "$cache/$pkg/$target" ]; then
      mkdir -p "$dir/testdata/fuzz/$target"
      cp -n "$cache/$pkg/$target"/* "$dir/testdata/fuzz/$target/" 2>/dev/null || true
    fi
    n=$((n+1))
  done
done
echo "fuzz: $n targets ran for $FUZZTIME each, no crashers"
