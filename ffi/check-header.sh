#!/usr/bin/env bash
# Fails when the checked-in include/failsoft.h differs from what ffi/build.rs generates from the
# Rust sources (cbindgen, pinned in ffi/Cargo.toml). Run by tests/c/run-tests.sh; fix a failure
# by building (`cargo build -p failsoft-ffi`) and committing the regenerated header.
set -euo pipefail
cd "$(dirname "$0")/.."
# A no-op when the release library is already built; build.rs rewrites the header otherwise.
cargo build --release -p failsoft-ffi --quiet
if ! git ls-files --error-unmatch include/failsoft.h >/dev/null 2>&1; then
  echo "check-header: include/failsoft.h is not committed (git add it)" >&2
  exit 1
fi
if ! git diff --exit-code -- include/failsoft.h; then
  echo "check-header: include/failsoft.h is stale: commit the header ffi/build.rs generated" >&2
  exit 1
fi
echo "check-header: include/failsoft.h is current"
