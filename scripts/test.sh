#!/usr/bin/env bash
# The whole test suite, as the README gives it: formatting, lints, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
