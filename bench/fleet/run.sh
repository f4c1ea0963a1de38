#!/usr/bin/env bash
# Fleet benchmark (not a test): backend requests per key per TTL for N = 1, 4, 8, 16 processes
# (`failsoft watch`, TTL 1 s, a read every 20 ms) with and without fleet mode, counted at
# failsoft-sim; then warm-read ns with fleet on vs off (the warm_read bench, with and without
# FAILSOFT_REDIS_URL). Needs redis-server on PATH (apt-get install redis-server).
#
#   bash bench/fleet/run.sh            # SECONDS_PER_RUN=10 by default
set -euo pipefail
cd "$(dirname "$0")/../.."
run_s="${SECONDS_PER_RUN:-10}"
cargo build --release -q -p failsoft-cli -p failsoft-sim
bin=target/release/failsoft
sim_bin=target/release/failsoft-sim

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no >/dev/null 2>&1 &
redis_pid=$!
coproc SIM { "$sim_bin" --exit-on-stdin-eof; }
sim_pid=$SIM_PID
trap 'kill "$redis_pid" "$sim_pid" 2>/dev/null || true' EXIT
read -r line <&"${SIM[0]}"
url="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["url"])' "$line")"
control="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["control"])' "$line")"
redis_url="redis://127.0.0.1:$port/0"
sleep 0.2

count() {
  python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/counts"))["paths"].get("/kv/greeting", 0))' "$control"
}
reset() {
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_sim/counts/reset", method="POST")).read()' "$control"
}

echo "backend requests per key per TTL (TTL 1 s, ${run_s} s per run)"
printf '%-6s %-12s %-12s\n' N "with fleet" "without"
for n in 1 4 8 16; do
  results=()
  for mode in fleet none; do
    redis-cli -p "$port" flushall >/dev/null 2>&1 || true
    reset
    pids=()
    for _ in $(seq "$n"); do
      extra=()
      [ "$mode" = fleet ] && extra=(--redis-url "$redis_url")
      FAILSOFT_REDIS_URL='' "$bin" watch greeting --source http --url "$url/kv/{key}" --ttl 1 --interval 0.02 \
        "${extra[@]}" >/dev/null 2>&1 &
      pids+=($!)
    done
    sleep "$run_s"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    results+=("$(python3 -c "print(f'{$(count) / $run_s:.2f}')")")
  done
  printf '%-6s %-12s %-12s\n' "$n" "${results[0]}" "${results[1]}"
done

echo
echo "warm reads, fleet off:"
FAILSOFT_REDIS_URL='' cargo bench -q -p failsoft --bench warm_read 2>/dev/null | grep -v '^$'
echo "warm reads, fleet on (FAILSOFT_REDIS_URL=$redis_url):"
FAILSOFT_REDIS_URL="$redis_url" cargo bench -q -p failsoft --bench warm_read 2>/dev/null | grep -v '^$'
