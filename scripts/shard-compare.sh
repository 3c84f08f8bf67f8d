#!/usr/bin/env bash
# Measures, never asserts: one load run as one process vs as four local shards merged, against
# the same echo server, alternating A/B. Prints total rate, p50 and p99 of each round.
#
#   scripts/shard-compare.sh [path/to/sockspec] [rounds]     (make shard-compare)
set -euo pipefail

sockspec=$(realpath "${1:-build/release/harness/sockspec}")
rounds=${2:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
profile="$root/scenarios/load/echo-tcp-rr.json"
dir=$(mktemp -d /tmp/sockspec-shards.XXXXXX)
"$sockspec" serve echo --transport tcp --port 0 >"$dir/server.out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; echo "reports: $dir"' EXIT
for _ in $(seq 100); do grep -q '^listening tcp' "$dir/server.out" && break; sleep 0.1; done
target=$(awk '/^listening tcp/ {print $3; exit}' "$dir/server.out")

summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["load"]
p = l["latency"]["percentiles"]
print(f"{sys.argv[2]:>20}: {l['achieved_rate']:9.0f}/s  p50 {p['p50'] / 1e3:7.1f} us  "
      f"p99 {p['p99'] / 1e3:7.1f} us  connections {l['connections']}")
PY
}

for r in $(seq 1 "$rounds"); do
  "$sockspec" load "$profile" --target "$target" --report-json "$dir/one-$r.json" >/dev/null
  summary "$dir/one-$r.json" "round $r: 1 process"
  start=$(( $(date +%s) + 2 ))
  shard_pids=()
  for i in 0 1 2 3; do
    "$sockspec" load "$profile" --target "$target" --shard "$i/4" --start-at "$start" --threads 1 \
      --report-json "$dir/shards-$r-$i.json" >/dev/null 2>>"$dir/shards.log" &
    shard_pids+=($!)
  done
  for p in "${shard_pids[@]}"; do wait "$p"; done
  "$sockspec" merge "$dir"/shards-"$r"-*.json -o "$dir/merged-$r.json" >/dev/null
  summary "$dir/merged-$r.json" "round $r: 4 shards"
done
