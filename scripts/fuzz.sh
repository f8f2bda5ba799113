#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each.
set -euo pipefail
FUZZTIME=${FUZZTIME:-50000x}
GO=${GO:-go}
n=0
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target ($FUZZTIME)"
    $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/unimon-fuzz.$$ 2>&1 || {
      cat /tmp/unimon-fuzz.$$; rm -f /tmp/unimon-fuzz.$$; echo "fuzz: $target FAILED"; exit 1; }
    n=$((n+1))
  done
done
rm -f /tmp/unimon-fuzz.$$
echo "fuzz: $n targets ran for $FUZZTIME each, no crashers"
