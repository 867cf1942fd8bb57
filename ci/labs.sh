#!/usr/bin/env bash
# The main job, from a fresh machine: set-up, build, and run every bundled lab (checks,
# steps, snapshots), as CI would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
cargo build --release --quiet
./target/release/topolab check labs/
./target/release/topolab test labs/ "$@"
