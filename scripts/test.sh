#!/usr/bin/env bash
# The whole test suite, as the README gives it: formatting, lints, unit and integration tests (the
# real-Dask ones included), the Python side's tests. Installs the pinned Python packages into
# .venv first, so it runs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt pytest==9.2.0
export GRAPHPROF_PYTHON="$PWD/.venv/bin/python"

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
(cd python && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
