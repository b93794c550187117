#!/usr/bin/env bash
# A short, bounded fuzz pass over every cargo-fuzz target: SECONDS (default 30) each.
# Seeds come from fuzz/seeds/<target>; new inputs go to a scratch corpus, never into git.
# A crash fails the run and leaves the reproducer under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
export PATH="$HOME/.cargo/bin:$PATH"
# cargo-fuzz needs nightly's -Z flags. The machine image ships a nightly toolchain; without it
# fall back to stable with RUSTC_BOOTSTRAP (same flags, unstable gate lifted).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
targets=$("${fuzz[@]}" list)
for t in $targets; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/seeds/$t"
  echo "fuzz: $t for ${secs}s"
  "${fuzz[@]}" run "$t" "$corpus" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 12
  # pipefail makes a crash (non-zero exit of cargo fuzz) fail this script.
done
echo "fuzz: all targets ran without a crash: ${targets//$'\n'/ }"
