#!/usr/bin/env bash
# LLM fallback benchmark (issues 7 and 12): failsoft's own costs (cargo bench --bench llm) and, in
# the same run, the official openai Python client's default retry behaviour on the same kind of
# dead primary (1 s timeout), with a hand-written fallback after it gives up; then, per provider
# fault of issue 12, failsoft with its defaults, failsoft with a careful user's options, and the
# openai client with a hand-written fallback: time to a complete answer and attempts per target.
# Takes about 2 minutes (the defaults wait out a 30 s stall and a 15 s silent primary).
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
FAILSOFT_BENCH_FAULTS=1 FAILSOFT_BENCH_JSON="$json" cargo bench -q -p failsoft --bench llm
theirs="$("$venv/bin/python" "$here/openai_dead_primary.py")"
faults="$("$venv/bin/python" "$here/openai_faults.py")"
python3 - "$json" "$theirs" "$faults" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1])); theirs = json.loads(sys.argv[2]); sdk = json.loads(sys.argv[3])
print("\nDead primary, 1 s timeout, fallback on a second endpoint (ms to an answer)")
print(f"{'':44} {'failsoft':>10} {'openai SDK':>11} {'ratio':>7}")
for mode, key in (("hang", "hang_ms"), ("refused", "refused_ms")):
    o, t = ours[key], theirs[mode]["answered_ms"]
    print(f"{'primary ' + mode:44} {o:>10.1f} {t:>11.1f} {t / o:>6.1f}x")
print(f"{'(openai SDK gave up on the primary after)':44} {'':>10} {theirs['hang']['gave_up_ms']:>11.1f}")

print("\nProvider faults on the primary, fallback healthy: ms to a complete answer (x = none), requests primary/fallback")
print("failsoft defaults: no option; careful: first_chunk 2 s, idle 2 s, stream_recovery=restart;")
print("openai SDK: max_retries=2, timeout=10 s, a hand-written fallback on any exception (streams included)")
print(f"{'fault':42} {'failsoft defaults':>20} {'failsoft careful':>20} {'openai + hand fallback':>24}")
def cell(r):
    t = f"{r['ms']:.0f}" if r["complete"] else f"x {r['ms']:.0f}"
    return f"{t} ({r['primary']}/{r['fallback']})"
for ours_row, sdk_row in zip(ours["faults"], sdk):
    print(f"{ours_row['fault']:42} {cell(ours_row['defaults']):>20} {cell(ours_row['careful']):>20} {cell(sdk_row):>24}")
PY
rm -f "$json"
