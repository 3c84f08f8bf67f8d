#!/usr/bin/env bash
# Inputs per second of `sockspec fuzz` against the reference echo, from its TCP suite and from
# its UDP suite, with one job and with two (each job its own server), the four sides alternating
# (the order rotates each round) for ROUNDS rounds of SECONDS_PER_RUN seconds. Each input is a
# mutant of a suite case and then the liveness case that checks the server still answers: two
# cases, two or more connections or exchanges. Prints each run's rate, the medians, and the
# ratios two jobs / one job.
# A benchmark, not a test: it asserts nothing about the figures; a run that failed or ran no
# input stops it with exit status 1 (scripts/bench-lib.sh).
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
sockspec=${1:-build/release/harness/sockspec}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-10}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

rate() {  # rate SIDE FILTER JOBS: prints inputs per second of one campaign
  local side=$1 filter=$2 jobs=$3 rc=0
  "$sockspec" fuzz --target builtin:echo --filter "$filter" --duration "$seconds" --seed 1 \
    --jobs "$jobs" --out "$dir/$side" > "$dir/$side.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 15 "$dir/$side.log" >&2; bench_fail "$side: sockspec fuzz exited with status $rc"; }
  python3 -c '
import json, re, sys
notes = " ".join(json.load(open(sys.argv[1]))["notes"])
m = re.search(r"fuzz: (\d+) inputs in (\d+) s", notes)
print(int(m.group(1)) / max(1, int(m.group(2))) if m else 0)' "$dir/$side/report.json"
}

sides=(tcp1 tcp2 udp1 udp2)
declare -A got
for r in $(seq "$rounds"); do
  line="round $r:"
  for k in 0 1 2 3; do
    side=${sides[$(((k + r - 1) % 4))]}
    proto=${side%?} jobs=${side: -1}
    v=$(rate "$side" "echo-$proto/*" "$jobs")
    got[$side]="${got[$side]:-} $v"
    line+=$(printf ' %s %.0f/s' "$side" "$v")
  done
  echo "$line"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A med
for side in "${sides[@]}"; do
  # shellcheck disable=SC2086
  positive "$side inputs/s" ${got[$side]}
  # shellcheck disable=SC2086
  med[$side]=$(median ${got[$side]})
done
printf 'median inputs/s (%d s runs): TCP %.0f with one job, %.0f with two (%.2fx); UDP %.0f with one job, %.0f with two (%.2fx)\n' \
  "$seconds" "${med[tcp1]}" "${med[tcp2]}" "$(awk -v a="${med[tcp2]}" -v b="${med[tcp1]}" 'BEGIN { print a / b }')" \
  "${med[udp1]}" "${med[udp2]}" "$(awk -v a="${med[udp2]}" -v b="${med[udp1]}" 'BEGIN { print a / b }')"
