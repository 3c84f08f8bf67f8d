#!/usr/bin/env bash
# Measures, never asserts: 100,000 concurrent TCP connections on this machine, held by six
# local shards of scenarios/load/idle-100k.json against eight `sockspec serve echo --reuseport`
# processes sharing one port (one process may hold at most its RLIMIT_NOFILE descriptors).
# Prints the connections reached, how long they took to establish, and each process's memory.
#
#   scripts/scale-100k.sh [path/to/sockspec]      (make scale-100k)
set -euo pipefail

sockspec=$(realpath "${1:-build/release/harness/sockspec}")
root=$(cd "$(dirname "$0")/.." && pwd)
shards=6
servers=8
dir=$(mktemp -d /tmp/sockspec-100k.XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "reports and logs: $dir"
}
trap cleanup EXIT

# The first server takes a free port; the others join it with SO_REUSEPORT.
"$sockspec" serve echo --transport tcp --port 0 --reuseport --threads 1 >"$dir/server-0.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening tcp' "$dir/server-0.out" && break; sleep 0.1; done
port=$(awk '/^listening tcp/ {split($3, a, ":"); print a[2]; exit}' "$dir/server-0.out")
[ -n "$port" ] || { echo "scale-100k: the first server did not start" >&2; exit 3; }
for i in $(seq 1 $((servers - 1))); do
  "$sockspec" serve echo --transport tcp --port "$port" --reuseport --threads 1 >"$dir/server-$i.out" 2>&1 &
  pids+=($!)
done
server_pids=("${pids[@]}")
sleep 1

start=$(( $(date +%s) + 3 ))
t0=$(date +%s.%N)
shard_pids=()
for i in $(seq 0 $((shards - 1))); do
  "$sockspec" load "$root/scenarios/load/idle-100k.json" --target "127.0.0.1:$port" \
    --shard "$i/$shards" --start-at "$start" --report-json "$dir/shard-$i.json" >"$dir/shard-$i.out" 2>&1 &
  shard_pids+=($!)
  pids+=($!)
done

# Count established connections to the port (client side) until all are up: bounded 60 s.
established=0 peak=0 up_at=""
for _ in $(seq 120); do
  established=$(ss -Htn state established "( dport = :$port )" | wc -l)
  [ "$established" -gt "$peak" ] && peak=$established
  now=$(date +%s.%N)
  if [ "$established" -ge 100000 ] && [ -z "$up_at" ]; then up_at=$now; break; fi
  sleep 0.5
done
server_rss=()
for p in "${server_pids[@]}"; do
  server_rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$p/status")")
done
conns_per_server=()
for p in "${server_pids[@]}"; do
  conns_per_server+=("$(ls "/proc/$p/fd" | wc -l)")
done

rc=0
for p in "${shard_pids[@]}"; do wait "$p" || rc=1; done
"$sockspec" merge "$dir"/shard-*.json -o "$dir/merged.json" >"$dir/merge.out" || rc=1

python3 - "$dir" "$start" "${up_at:-0}" "$peak" "${server_rss[*]}" "${conns_per_server[*]}" <<'PY'
import json, sys
d, start, up_at, peak = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
server_rss = [int(x) for x in sys.argv[5].split()]
server_fds = [int(x) for x in sys.argv[6].split()]
shards = [json.load(open(f"{d}/shard-{i}.json"))["load"] for i in range(6)]
m = json.load(open(f"{d}/merged.json"))["load"]
print(f"connections established at once: {peak} (ss, client side)")
if up_at:
    print(f"time to establish all 100,000 from --start-at: {up_at - start:.1f} s (sampled every 0.5 s)")
else:
    print("not all 100,000 were established within 60 s")
for s in shards:
    kib = s["generator_peak_rss_kib"]
    print(f"  shard {s['shard']['index']}/6: {s['connections']} connections, peak RSS {kib/1024:.1f} MiB "
          f"({kib*1024/s['connections']:.0f} B each), errors {s['errors']}")
print(f"  servers: RSS {', '.join(f'{r/1024:.0f}' for r in server_rss)} MiB; descriptors {', '.join(map(str, server_fds))}")
print(f"merged: {m['connections']} connections, {m['iterations']} iterations, errors {m['errors']}, "
      f"thresholds {'pass' if all(t['passed'] for t in m['thresholds']) else 'FAIL'}")
PY
exit $rc
