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
cargo test   # benches are not run here: `cargo bench` runs them (see README, Benchmarks)
(cd python && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests)

# The wheel (pyproject.toml, maturin): build it, install it into a fresh venv with the pinned
# packages, and run the package's tests against the installed copy, not this source tree
# (python/tests_package refuses to run from the source tree). GRAPHPROF_BIN stays unset, so
# the binary is the wheel's.
rm -rf target/wheels target/wheel-venv
.venv/bin/pip wheel --quiet --disable-pip-version-check --no-deps . -w target/wheels
python3 -m venv target/wheel-venv
wheel=$(ls target/wheels/graphprof-*.whl)
target/wheel-venv/bin/pip install --quiet --disable-pip-version-check "$wheel" -r python/requirements.txt \
  pytest==9.2.0 psutil==7.2.2 matplotlib==3.11.2 jsonschema==4.26.0
env -u GRAPHPROF_BIN GRAPHPROF_WHEEL="$PWD/$wheel" GRAPHPROF_PYTHON="$PWD/target/wheel-venv/bin/python" \
  target/wheel-venv/bin/python -m pytest -q -p no:cacheprovider python/tests_package

# Fuzz smoke run: each cargo-fuzz target ~45 s (needs `cargo +nightly`; docs/FUZZING.md).
if [ "${GRAPHPROF_SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz-smoke.sh
fi

# Dogfood: graphprof's own fixtures against their baseline and budgets (docs/CHECK.md).
cargo run --quiet -- check --baseline reports/baseline.json --budget graphprof.toml \
  --markdown target/graphprof-check.md --junit target/graphprof-check.xml
