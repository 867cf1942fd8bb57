#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, then every unit, snapshot and
# integration test (as root, plus rootless runs as the user `topolab-test`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
else
    cargo test --workspace --no-fail-fast "$@"
fi
