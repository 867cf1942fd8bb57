#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, then every unit, snapshot and
# integration test (as root, plus rootless runs as the user `topolab-test`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
. ci/find-cargo.sh
# cargo-nextest is used when installed but not installed here: `cargo install --locked
# cargo-nextest` compiles for minutes. Plain `cargo test` (a binary's tests as threads of
# one process) is as reliable: tests that probe share the host's neighbour table through
# topolab's host-wide budget, not through process isolation.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
else
    cargo test --workspace --no-fail-fast "$@"
fi
