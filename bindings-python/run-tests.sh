#!/usr/bin/env bash
# Builds and installs the Python package into a virtualenv, checks the checked-in stubs against
# the built module (mypy.stubtest), type-checks the pure-Python layer, and runs the pytest suite
# against the simulator.
#
#   cargo build --release -p failsoft-sim     # once, beforehand
#   cargo build --release -p failsoft-cli     # for the `failsoft pull` test (skipped without it)
#   bash bindings-python/run-tests.sh [pytest args...]
#
# Environment: PYTHON (default python3, >= 3.10 for the dev tools), FAILSOFT_PY_VENV (default
# bindings-python/.venv, reused between runs), FAILSOFT_SIM_BIN (default
# target/release/failsoft-sim), FAILSOFT_BIN (the CLI, default target/release/failsoft),
# CARGO_TARGET_DIR (where the extension is built).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
venv="${FAILSOFT_PY_VENV:-$here/.venv}"
export FAILSOFT_SIM_BIN="${FAILSOFT_SIM_BIN:-$root/target/release/failsoft-sim}"
if [ -z "${FAILSOFT_BIN:-}" ] && [ -x "$root/target/release/failsoft" ]; then
    export FAILSOFT_BIN="$root/target/release/failsoft"
fi

if [ ! -x "$FAILSOFT_SIM_BIN" ]; then
    echo "run-tests.sh: $FAILSOFT_SIM_BIN not found; run: cargo build --release -p failsoft-sim" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet -r "$here/requirements-dev.txt"
# Builds the extension with maturin (fetched by pip) and cargo, exactly as a user's install does.
"$py" -m pip install --quiet --force-reinstall --no-deps "$here"

# Run from a directory without a `failsoft` folder so the installed package is the one tested.
cd "$here/tests"
echo "== stubtest"
"$py" -m mypy.stubtest failsoft
echo "== mypy"
"$py" -m mypy --config-file "$here/pyproject.toml" "$here/python/failsoft"
echo "== pytest"
"$py" -m pytest -c "$here/pyproject.toml" --rootdir "$here" "$here/tests" "$@"
