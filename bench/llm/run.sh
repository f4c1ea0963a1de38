#!/usr/bin/env bash
# LLM fallback benchmark (issue 7): failsoft's own costs (cargo bench --bench llm) and, in the
# same run, the official openai Python client's default retry behaviour on the same kind of
# dead primary (1 s timeout), with a hand-written fallback after it gives up.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build --release -q -p failsoft-sim
export FAILSOFT_SIM_BIN="${FAILSOFT_SIM_BIN:-$root/target/release/failsoft-sim}"
venv="$root/target/venv-bench-llm"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "openai==2.8.1"
json="$(mktemp)"
FAILSOFT_BENCH_JSON="$json" cargo bench -q -p failsoft --bench llm
theirs="$("$venv/bin/python" "$here/openai_dead_primary.py")"
python3 - "$json" "$theirs" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1])); theirs = json.loads(sys.argv[2])
print("\nDead primary, 1 s timeout, fallback on a second endpoint (ms to an answer)")
print(f"{'':44} {'failsoft':>10} {'openai SDK':>11} {'ratio':>7}")
for mode, key in (("hang", "hang_ms"), ("refused", "refused_ms")):
    o, t = ours[key], theirs[mode]["answered_ms"]
    print(f"{'primary ' + mode:44} {o:>10.1f} {t:>11.1f} {t / o:>6.1f}x")
print(f"{'(openai SDK gave up on the primary after)':44} {'':>10} {theirs['hang']['gave_up_ms']:>11.1f}")
PY
rm -f "$json"
