#!/usr/bin/env bash
# Every test suite of failsoft, in the order CI runs them. One release build of the workspace is
# made first and reused by every suite (Rust tests, Python, Node, C); the release files (linked
# against glibc 2.17, in target/dist) are built once by scripts/dist.sh and checked by tests/dist.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
step() { printf '\n=== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "release build (simulator, CLI, libraries)"
cargo build --release --workspace --locked
export FAILSOFT_SIM_BIN="$PWD/target/release/failsoft-sim"
export FAILSOFT_BIN="$PWD/target/release/failsoft"

step "redis-server for the fleet tests"
# shellcheck source=scripts/redis.sh
source scripts/redis.sh

step "Rust tests"
cargo test --release --workspace --locked

for suite in bindings-python/run-tests.sh bindings-node/run-tests.sh tests/c/run-tests.sh tests/sdk_compat/run-tests.sh; do
  if [ -f "$suite" ]; then
    step "$suite"
    bash "$suite"
  fi
done

step "release files: scripts/dist.sh (built once), then tests/dist/run-tests.sh installs each without Rust"
bash scripts/dist.sh
bash tests/dist/run-tests.sh

step "demo"
"$FAILSOFT_BIN" demo

step "all suites passed"
