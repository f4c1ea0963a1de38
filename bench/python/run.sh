#!/usr/bin/env bash
# Runs bench_langfuse.py in its own virtualenv (bench/.venv-python): installs the pinned official
# `langfuse` SDK and failsoft (built from bindings-python), and the simulator if it is missing.
#
#   bash bench/python/run.sh [--warm-reads N]
#
# Environment: PYTHON (default python3), FAILSOFT_BENCH_VENV, FAILSOFT_SIM_BIN (default
# target/release/failsoft-sim, built when missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${FAILSOFT_BENCH_VENV:-$root/bench/.venv-python}"
export FAILSOFT_SIM_BIN="${FAILSOFT_SIM_BIN:-$root/target/release/failsoft-sim}"

if [ ! -x "$FAILSOFT_SIM_BIN" ]; then
    (cd "$root" && cargo build --release -p failsoft-sim)
fi
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$root/bindings-python"
cd "$here"
exec "$venv/bin/python" "$here/bench_langfuse.py" "$@"
