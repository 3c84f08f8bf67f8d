#!/usr/bin/env bash
# End to end on a real Slurm: starts a single-node cluster in a scratch directory
# (local-cluster.sh), a reference echo server, submits `sbatch --array=0-3` of four shards of
# one load run, waits for them, merges their reports and checks the merged totals and
# thresholds. Stops everything it started, whatever happens.
#
#   deploy/slurm/array-test.sh path/to/sockspec
set -euo pipefail

sockspec=$(realpath "${1:?usage: $0 path/to/sockspec}")
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d /tmp/sockspec-slurm.XXXXXX)
server_pid=""

cleanup() {
  rc=$?
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  "$here/local-cluster.sh" stop "$scratch/cluster" || true
  if [ $rc -eq 0 ]; then rm -rf "$scratch"; else echo "array-test: FAILED; files kept in $scratch" >&2; fi
}
trap cleanup EXIT

"$here/local-cluster.sh" start "$scratch/cluster" >/dev/null
export SLURM_CONF="$scratch/cluster/slurm.conf"

"$sockspec" serve echo --transport tcp --port 0 >"$scratch/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q '^listening tcp' "$scratch/server.out" && break; sleep 0.1; done
target=$(awk '/^listening tcp/ {print $3; exit}' "$scratch/server.out")
[ -n "$target" ] || { echo "array-test: the echo server did not start" >&2; exit 3; }

# 400 iterations/s over 8 connections for 2 s, split four ways by the shards.
cat >"$scratch/profile.json" <<'JSON'
{
  "format": 1, "profile": "slurm-array", "transport": "tcp",
  "defaults": { "timeout_ms": 2000 },
  "executor": { "type": "constant-rate", "rate": 400, "connections": 8 },
  "duration_s": 2, "warmup_s": 0,
  "setup": [ { "op": "connect", "conn": "c" } ],
  "iteration": [ { "op": "send", "conn": "c", "text": "ping ${client}\n" },
                 { "op": "expect", "conn": "c", "echo": true } ],
  "thresholds": [ "rate >= 300/s", "errors == 0", "missed_starts == 0" ]
}
JSON
mkdir -p "$scratch/reports"
# Every shard waits for the same start; the shard comes from SLURM_ARRAY_TASK_ID/_COUNT.
start=$(( $(date +%s) + 6 ))
cat >"$scratch/job.sh" <<JOB
#!/bin/bash
exec "$sockspec" load "$scratch/profile.json" --target "$target" --threads 1 \
  --start-at $start --report-json "$scratch/reports/shard-\${SLURM_ARRAY_TASK_ID}.json"
JOB
chmod +x "$scratch/job.sh"
timeout 180 sbatch --wait --array=0-3 --cpus-per-task=1 -o "$scratch/reports/out-%a.txt" \
  "$scratch/job.sh" >"$scratch/sbatch.out"
job=$(awk '{print $4}' "$scratch/sbatch.out")

"$sockspec" merge "$scratch"/reports/shard-*.json -o "$scratch/merged.json" >"$scratch/merge.out"

python3 - "$scratch" "$job" <<'PY'
import json, sys
scratch, job = sys.argv[1], sys.argv[2]
shards = [json.load(open(f"{scratch}/reports/shard-{i}.json"))["load"] for i in range(4)]
m = json.load(open(f"{scratch}/merged.json"))
l = m["load"]
def check(ok, what):
    if not ok:
        sys.exit(f"array-test: {what}")
check([s["shard"]["index"] for s in shards] == [0, 1, 2, 3], "shards 0..3 from SLURM_ARRAY_TASK_ID")
check(all(s["shard"]["count"] == 4 for s in shards), "a count of 4 from SLURM_ARRAY_TASK_COUNT")
check(l["shard"]["run_id"] == f"slurm-array@slurm-{job}", f"run id from the array job: {l['shard']['run_id']}")
check(l["shard"]["merged"] == [0, 1, 2, 3] and not l["shard"]["partial"], "all four shards merged")
check(l["connections"] == 8, f"8 connections in all, got {l['connections']}")
check(l["target_rate"] == 400, f"400/s asked in all, got {l['target_rate']}")
check(l["iterations"] == sum(s["iterations"] for s in shards), "iterations add up")
check(abs(l["scheduled"] - 800) <= 4, f"800 starts scheduled in all, got {l['scheduled']}")
check(all(t["passed"] for t in l["thresholds"]), f"thresholds on the merged data: {l['thresholds']}")
check(m["exit_code"] == 0, "the merged verdict passes")
print(f"array-test: 4 Slurm shards merged: {l['iterations']} iterations, {l['achieved_rate']:.0f}/s "
      f"of {l['target_rate']:.0f}/s, p99 {l['latency']['percentiles']['p99']} ns, run {l['shard']['run_id']}")
PY
