#!/usr/bin/env bash
# The simulator is faithful: the official langfuse, opik and openai Python SDKs (pinned in
# requirements.txt), pointed at it, read what failsoft reads. Needs FAILSOFT_SIM_BIN/FAILSOFT_BIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/venv-sdk-compat"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -m pytest -q "$here/langfuse_sdk_compat.py" "$here/openai_sdk_compat.py"
