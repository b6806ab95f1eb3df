#!/usr/bin/env bash
# Fuzz smoke run (docs/FUZZING.md): every cargo-fuzz target under fuzz/ for a short while, from its
# committed seed corpus. Needs the nightly toolchain (`cargo +nightly`); installs cargo-fuzz when
# missing. New inputs a run finds go to fuzz/runs/TARGET (ignored by git), so the committed corpus
# stays as it is. A crash fails the script; its input is kept under fuzz/artifacts/TARGET/.
#
#   scripts/fuzz-smoke.sh            every target, FUZZ_SECONDS (default 45) each
#   scripts/fuzz-smoke.sh budget     one target
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE

seconds="${FUZZ_SECONDS:-45}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(load_graph baseline budget)
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz-smoke: the nightly toolchain is missing (\`cargo +nightly\` fails); install it with" \
    "\`rustup toolchain install nightly\`, or skip fuzzing with GRAPHPROF_SKIP_FUZZ=1" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz 0.13.2" >&2
  cargo install --locked cargo-fuzz --version 0.13.2
fi

for target in "${targets[@]}"; do
  mkdir -p "fuzz/runs/$target"
  log="fuzz/runs/$target.log"
  echo "fuzz-smoke: $target for ${seconds}s (log: $log)" >&2
  # The committed seeds are read; only fuzz/runs/TARGET is written. -rss_limit_mb guards the
  # machine; a 10 s input is a hang, reported as a crash.
  status=0
  cargo +nightly fuzz run "$target" "fuzz/runs/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|SUMMARY)|panicked|Test unit written|^error' \
    "$log" >&2 || true
  grep -E '^#[0-9]+' "$log" | tail -n 1 >&2 || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz-smoke: $target failed (exit $status): a crash, or the build failed; see $log" \
      "and fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz-smoke: ${#targets[@]} targets, no crash" >&2
