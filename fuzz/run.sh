#!/usr/bin/env bash
# The real fuzz run: every target for SECONDS (default 600) each, one process each, one after the
# other, then its corpus minimised back into fuzz/corpus/<target>/. Needs nightly and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Crashes land in fuzz/artifacts/<target>/.
# Usage: bash fuzz/run.sh [seconds] [target...]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(profiles urls eval_pairs redis_info verify_text); fi
# Its own target dir: the sanitizer build shares nothing with the stable one.
export CARGO_TARGET_DIR="$PWD/target"
cargo +nightly fuzz build -O -a -s none
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: ${secs}s"
  start=$(date +%s)
  if ! cargo +nightly fuzz run -O -a -s none "$t" "corpus/$t" -- -max_total_time="$secs" \
      -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tee "target/$t.log" | tail -n 20; then
    status=1
  fi
  echo "== $t done in $(($(date +%s) - start))s; $(ls "corpus/$t" | wc -l) corpus files before cmin"
  cargo +nightly fuzz cmin -O -a -s none "$t" "corpus/$t" -- -max_len=8192 2>&1 | tail -n 2
  echo "== $t: $(ls "corpus/$t" | wc -l) corpus files after cmin"
done
exit $status
