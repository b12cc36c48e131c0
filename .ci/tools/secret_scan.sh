#!/usr/bin/env bash
# Secret scan, run after `cargo test`: every password and token the whole-system tests hand the
# binary contains S3CRET-CANARY (tests/common/mod.rs), and the tests keep everything the binary
# wrote and printed (config and data folders, every run's stdout and stderr, --json answers)
# under $SIMBA_TEST_ARTIFACTS (default target/test-artifacts). The marker may appear only in a
# secrets.toml; anywhere else is a leak. Binary files (the SQLite cache) are scanned too.
# On success the folder is emptied, so the next run scans only its own output; on failure it is
# kept for inspection.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${SIMBA_TEST_ARTIFACTS:-target/test-artifacts}"
marker="S3CRET-CANARY"

if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
  echo "secret scan: nothing under $dir; run the test suite first (cargo test)"; exit 1
fi
files=$(find "$dir" -type f | wc -l)
# The marker must be in use, or the scan proves nothing.
held=$(find "$dir" -type f -name secrets.toml -exec grep -l -a -F "$marker" {} + 2>/dev/null | wc -l)
if [ "$held" -eq 0 ]; then
  echo "secret scan: no secrets.toml under $dir holds $marker; the tests no longer use the marked secrets"; exit 1
fi
leaks=$(grep -r -l -a -F --exclude=secrets.toml "$marker" "$dir" || true)
if [ -n "$leaks" ]; then
  echo "secret scan: FAILED, a test secret ($marker...) was written or printed outside secrets.toml:"
  while IFS= read -r f; do
    echo "  $f ($(grep -c -a -F "$marker" "$f") lines)"
  done <<<"$leaks"
  exit 1
fi
echo "secret scan: $files files under $dir, 0 occurrences of $marker outside $held secrets.toml file(s)"
find "$dir" -mindepth 1 -delete
