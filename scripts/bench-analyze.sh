#!/usr/bin/env bash
# Benchmark of `graphprof analyze` against a bare serde_json parse on a 1,000,000-task graph
# (~200 MB, generated into a temporary folder). Options go to the bench:
#   scripts/bench-analyze.sh [--chunks N] [--runs R] [--graph FILE] [--baseline BINARY] [--binary BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench analyze -- "$@"
