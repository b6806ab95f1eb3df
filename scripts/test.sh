#!/usr/bin/env bash
# The whole test suite, as the README gives it: formatting, lints, unit and integration tests (the
# real-Dask ones included), the Python side's tests, the wheel's tests, the fuzz smoke run and the
# dogfood check. Installs the pinned Python packages into .venv first, so it runs on a fresh
# machine. Every stage runs even when an earlier one failed (a red step must not hide the others'
# results); the script fails at the end, naming the stages that failed.
set -uo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE

failed=()
stage() {
  local name=$1
  shift
  echo "== $name"
  local started=$SECONDS
  if "$@"; then
    echo "== $name: ok ($((SECONDS - started)) s)"
  else
    echo "== $name: FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
}

setup_venv() {
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || return 1
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt pytest==9.2.0
}

python_tests() {
  (cd python && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
}

# The wheel (pyproject.toml, maturin): build it, install it into a fresh venv with the pinned
# packages, and run the package's tests against the installed copy, not this source tree
# (python/tests_package refuses to run from the source tree). GRAPHPROF_BIN stays unset, so
# the binary is the wheel's.
wheel_tests() {
  rm -rf target/wheels target/wheel-venv
  .venv/bin/pip wheel --quiet --disable-pip-version-check --no-deps . -w target/wheels || return 1
  python3 -m venv target/wheel-venv || return 1
  local wheel
  wheel=$(ls target/wheels/graphprof-*.whl) || return 1
  # The README's install line for notebooks (`pip install ".[dask,plot]"`), with this wheel for
  # ".": its extras, pinned by requirements.txt; requirements-notebook.txt runs the README's
  # notebook cells in a Jupyter kernel (python/tests_package/test_readme_notebook.py).
  target/wheel-venv/bin/pip install --quiet --disable-pip-version-check "$wheel[dask,plot]" -r python/requirements.txt \
    -r python/requirements-notebook.txt pytest==9.2.0 psutil==7.2.2 matplotlib==3.11.2 jsonschema==4.26.0 || return 1
  env -u GRAPHPROF_BIN GRAPHPROF_WHEEL="$PWD/$wheel" GRAPHPROF_PYTHON="$PWD/target/wheel-venv/bin/python" \
    target/wheel-venv/bin/python -m pytest -q -p no:cacheprovider python/tests_package
}

# Dogfood: graphprof's own fixtures against their baseline and budgets (docs/CHECK.md).
dogfood() {
  cargo run --quiet -- check --baseline reports/baseline.json --budget graphprof.toml \
    --markdown target/graphprof-check.md --junit target/graphprof-check.xml
}

# A stage run beside the others, in the background: its output goes to target/ci-logs/SLUG.log
# and is printed, with its result, once every stage beside it has ended (finish_beside).
beside_names=()
beside_slugs=()
beside() {
  local name=$1 slug=$2
  shift 2
  mkdir -p target/ci-logs
  rm -f "target/ci-logs/$slug.status"
  echo "== $name: started beside the others (output below when it ends)"
  (
    started=$SECONDS
    if "$@" >"target/ci-logs/$slug.log" 2>&1; then rc=0; else rc=1; fi
    echo "$rc $((SECONDS - started))" >"target/ci-logs/$slug.status"
  ) &
  beside_names+=("$name")
  beside_slugs+=("$slug")
}
finish_beside() {
  wait
  local i rc took
  for i in "${!beside_names[@]}"; do
    echo "== ${beside_names[$i]} (ran beside the others)"
    cat "target/ci-logs/${beside_slugs[$i]}.log"
    rc=1 took=?
    [ -f "target/ci-logs/${beside_slugs[$i]}.status" ] && read -r rc took <"target/ci-logs/${beside_slugs[$i]}.status"
    if [ "$rc" = 0 ]; then
      echo "== ${beside_names[$i]}: ok ($took s)"
    else
      echo "== ${beside_names[$i]}: FAILED ($took s)"
      failed+=("${beside_names[$i]}")
    fi
  done
}

python_and_wheel_tests() {
  local rc=0
  echo "== python tests"
  python_tests || { rc=1; echo "== python tests: FAILED"; }
  echo "== wheel tests"
  wheel_tests || { rc=1; echo "== wheel tests: FAILED"; }
  return $rc
}

stage "python packages" setup_venv
export GRAPHPROF_PYTHON="$PWD/.venv/bin/python"
stage "cargo fmt --check" cargo fmt --check
stage "cargo clippy" cargo clippy --all-targets -- -D warnings
stage "cargo test build" cargo test --no-run --quiet
# Most of the time of the tests below is spent waiting on Dask clusters (start-up, holding,
# settling), and of the fuzz smoke run and the wheel's build on the CPU: the Python and wheel
# tests and the fuzz smoke run go beside `cargo test` (the suite is written to pass on a busy
# machine: a memory figure is checked against what the program guarantees). ~30 min in a row
# on an idle machine before.
beside "python and wheel tests" python-wheel python_and_wheel_tests
# Fuzz smoke run: each cargo-fuzz target ~45 s (needs `cargo +nightly`; docs/FUZZING.md).
if [ "${GRAPHPROF_SKIP_FUZZ:-0}" != 1 ]; then
  beside "fuzz smoke" fuzz-smoke bash scripts/fuzz-smoke.sh
fi
stage "cargo test" cargo test   # benches are not run here: `cargo bench` runs them (docs/BENCHMARKS.md)
finish_beside
stage "dogfood check" dogfood

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: ${failed[*]}"
  exit 1
fi
echo "== all stages passed"
